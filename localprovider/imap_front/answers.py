"""The recorded IMAP answers a mailbox gives, as the front sends them (see personas.recorded(..., "imap"))."""

import base64
import json
from dataclasses import dataclass
from typing import Any, Literal

from localprovider import personas

Phase = Literal["login", "after_login", "fetch"]
PHASES: tuple[Phase, ...] = ("login", "after_login", "fetch")
# Only bearer-token mechanisms carry an error challenge (Google's XOAUTH2 and RFC 7628's OAUTHBEARER).
CHALLENGE_MECHANISMS = ("XOAUTH2", "OAUTHBEARER")


@dataclass(frozen=True)
class ImapAnswer:
    """One recorded answer: when it is given, the tagged reply (without its tag), and for a refused
    bearer login the challenge (`+ <base64 JSON>`) the client answers with an empty line first."""

    name: str
    phase: Phase
    reply: bytes
    challenge: bytes | None = None

    @classmethod
    def from_entry(cls, name: str, entry: dict[str, Any]) -> "ImapAnswer":
        phase = entry.get("phase")
        if phase not in PHASES:
            raise ValueError(f"recorded IMAP answer {name!r} has no known phase: {phase!r}")
        challenge = entry.get("challenge")
        encoded = None
        if challenge is not None:
            encoded = base64.b64encode(json.dumps(challenge, separators=(",", ":")).encode())
        return cls(name=name, phase=phase, reply=str(entry["reply"]).encode(), challenge=encoded)

    def challenge_for(self, mechanism: str | None) -> bytes | None:
        """The continuation line to send before the reply, if any, for a login by `mechanism`."""
        if self.challenge is None or mechanism not in CHALLENGE_MECHANISMS:
            return None
        return b"+ " + self.challenge + b"\r\n"


def forced_answer(state: personas.MailboxState) -> ImapAnswer | None:
    """The answer the mailbox is forced to give now, if any."""
    if state.imap_answer is None:
        return None
    entry = personas.recorded(state.persona, "imap").get(state.imap_answer)
    return None if entry is None else ImapAnswer.from_entry(state.imap_answer, entry)


def refusal_answer(state: personas.MailboxState) -> ImapAnswer | None:
    """How the persona words a refused login; None keeps the server's own words (plain)."""
    entry = personas.refusal(state.persona)
    if entry is None:
        return None
    name = next(name for name, known in personas.recorded(state.persona, "imap").items() if known == entry)
    return ImapAnswer.from_entry(name, entry)
