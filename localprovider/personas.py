"""Personas: which real provider a Local mail mailbox imitates, and which recorded answer it gives now.

A mailbox's persona (`plain`, `google` or `microsoft`) decides how the token endpoint, the ID token
and the IMAP server word their answers; a forced answer (`token_answer`, `authorize_answer`,
`imap_answer`, ...) makes the mailbox answer with one recorded body until it is cleared. The bodies
themselves are the main app's recorded provider answers (`channels_app/providers/<kind>/recorded.json`):
one documented source of truth for both the stand-in and the contract suite, each entry naming its
public source.

The state lives in one small JSON file per mailbox under `<instance dir>/personas/`, read on every
request by the OAuth server and the IMAP front, written atomically by `control`. Plain data, no Django.
"""

import json
import os
from dataclasses import asdict, dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any, Literal, get_args

from localprovider.instance import REPO_DIR

Persona = Literal["plain", "google", "microsoft"]
PERSONAS: tuple[Persona, ...] = ("plain", "google", "microsoft")
Surface = Literal["token", "authorize", "imap", "graph", "watch", "history"]
# The surfaces a mailbox can be made to answer on with a recorded answer (`<surface>_answer` below).
AnswerSurface = Literal["token", "authorize", "imap", "graph", "watch"]
ANSWER_SURFACES: tuple[AnswerSurface, ...] = get_args(AnswerSurface)

# Which main-app provider package records the answers each persona reproduces.
_RECORDED_KIND = {"google": "gmail", "microsoft": "microsoft", "plain": "imap"}


@dataclass(frozen=True)
class MailboxState:
    persona: Persona = "plain"
    # Microsoft's `email` claim can differ from the sign-in name (it is mutable); None: same as the address.
    email_claim: str | None = None
    token_answer: str | None = None
    # The authorize endpoint sends the person back with this recorded error once they have signed in
    # (an administrator's policy, Conditional Access, admin consent required, ...): views.ConsentView.
    authorize_answer: str | None = None
    imap_answer: str | None = None
    # Accounts with Full Access to this mailbox (an Exchange shared mailbox's delegates): each may open it
    # with its own token, naming this address as the XOAUTH2 user (see imap_front/delegation.py).
    delegates: tuple[str, ...] = ()
    # Applications (app ids) with FullAccess to this mailbox through Exchange's Add-MailboxPermission: each
    # may open it with its own client-credentials token (imap_front/delegation.py, organisation.py).
    applications: tuple[str, ...] = ()
    # A recorded Graph answer (microsoft persona) given to subscription create, renew and reauthorize.
    graph_answer: str | None = None
    # What the person consented to at the last code exchange (microsoft persona): a refresh may ask for
    # any of it, one resource at a time, as Microsoft's refresh tokens allow.
    consented_scopes: str | None = None
    # Gmail's users.watch and users.stop (gmail_api.py) answer with this recorded answer while it is set.
    watch_answer: str | None = None


# Every surface answering normally again (a new persona, or "clear").
NOTHING_FORCED: dict[str, None] = {f"{surface}_answer": None for surface in ANSWER_SURFACES}


def forced_answer(state: MailboxState, surface: AnswerSurface) -> str | None:
    """The recorded answer the mailbox gives on `surface` now; None: it answers normally."""
    name: str | None = getattr(state, f"{surface}_answer")
    return name


def _path(instance_dir: Path, email: str) -> Path:
    if "/" in email or email.startswith("."):
        raise ValueError(f"not a usable mailbox address: {email!r}")
    return instance_dir / "personas" / f"{email.strip().lower()}.json"


def read_state(instance_dir: Path, email: str) -> MailboxState:
    """The mailbox's state; a mailbox without a file is plain with nothing forced."""
    try:
        data = json.loads(_path(instance_dir, email).read_text())
    except (FileNotFoundError, ValueError):
        return MailboxState()
    known = {key: data[key] for key in asdict(MailboxState()) if key in data}
    for listed in ("delegates", "applications"):
        if listed in known:
            known[listed] = tuple(known[listed])
    return MailboxState(**known)


def write_state(instance_dir: Path, email: str, **changes: Any) -> MailboxState:
    """Updates the given fields of a mailbox's state (atomic: a reader never sees half a file)."""
    state = replace(read_state(instance_dir, email), **changes)
    if state.persona not in PERSONAS:
        raise ValueError(f"unknown persona {state.persona!r}; one of {', '.join(PERSONAS)}")
    for surface in ANSWER_SURFACES:
        name = forced_answer(state, surface)
        if name is not None and name not in recorded(state.persona, surface):
            known = ", ".join(recorded(state.persona, surface)) or "none"
            raise ValueError(f"the {state.persona} persona has no recorded {surface} answer {name!r} (known: {known})")
    path = _path(instance_dir, email)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(state)))
    tmp.chmod(0o644)  # no secrets; the IMAP front may run as another user
    os.replace(tmp, path)
    return state


@cache
def _recorded_file(kind: str) -> dict[str, Any]:
    path = REPO_DIR / "channels_app" / "providers" / kind / "recorded.json"
    return json.loads(path.read_text())


def recorded(persona: Persona, surface: Surface) -> dict[str, dict[str, Any]]:
    """The recorded answers a persona can give on one surface: {name: entry} (see recorded.json)."""
    return dict(_recorded_file(_RECORDED_KIND[persona]).get(surface, {}))


def refusal(persona: Persona) -> dict[str, Any] | None:
    """The persona's IMAP answer whenever the real server refuses the credentials; plain keeps Dovecot's own."""
    if persona == "plain":
        return None
    return next((entry for entry in recorded(persona, "imap").values() if entry.get("refusal")), None)
