"""A tiny IMAP server in memory: the front's upstream when it runs without Dovecot (the contract suite).

It speaks like Dovecot where the front cares (greeting with LITERAL+ and SASL-IR, Dovecot's words and
XOAUTH2/OAUTHBEARER error challenges on a refused login) and serves one INBOX holding one message,
enough for imapclient's select_folder, search, fetch, idle and logout.
"""

import asyncio
import base64
import json
from collections.abc import Callable
from dataclasses import dataclass

from localprovider.imap_front.wire import Command, decode_sasl, read_command, read_line

Refuses = Callable[[str, str], bool]
"""(user, password or token) -> whether the login is refused, as Dovecot refuses a wrong password."""

CAPABILITIES = b"IMAP4rev1 SASL-IR ID IDLE LITERAL+ AUTH=PLAIN AUTH=XOAUTH2 AUTH=OAUTHBEARER"
GREETING = b"* OK [CAPABILITY " + CAPABILITIES + b"] Local mail (in memory) ready.\r\n"
LOGGED_IN = b"OK [CAPABILITY IMAP4rev1 SASL-IR ID IDLE LITERAL+] Logged in"
# What Dovecot 2.3 sends on a refused login (seen on the wire; README "IMAP front").
REFUSED = b"NO [AUTHENTICATIONFAILED] Authentication failed."
ABORTED = b"BAD Authentication aborted by client."
ERROR_CHALLENGES = {
    "XOAUTH2": {"status": "401", "schemes": "bearer", "scope": "mail"},
    "OAUTHBEARER": {"status": "invalid_token"},
}
MECHANISMS = ("PLAIN", "XOAUTH2", "OAUTHBEARER")


@dataclass(frozen=True)
class StoredMessage:
    uid: int
    content: bytes
    internal_date: bytes = b'"01-Jan-2026 09:00:00 +0000"'


WELCOME = StoredMessage(
    uid=1,
    content=(
        b"From: Local mail <welcome@localmail.test>\r\n"
        b"To: you@localmail.test\r\n"
        b"Subject: Welcome to Local mail\r\n"
        b"Date: Thu, 01 Jan 2026 09:00:00 +0000\r\n"
        b"Message-ID: <welcome-1@localmail.test>\r\n"
        b"MIME-Version: 1.0\r\n"
        b'Content-Type: text/plain; charset="utf-8"\r\n'
        b"\r\n"
        b"The one message of the in-memory mailbox the IMAP front serves without Dovecot.\r\n"
    ),
)
UIDVALIDITY = 1


def never_refuse(user: str, secret: str) -> bool:
    return False


class InMemoryImap:
    """One connection to the in-memory server; `serve` runs it until LOGOUT or the peer leaves."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, refuses: Refuses) -> None:
        self.reader, self.writer, self.refuses = reader, writer, refuses
        self.messages = [WELCOME]
        self.logged_in = False
        self.selected = False

    async def serve(self) -> None:
        self.writer.write(GREETING)
        try:
            while (command := await read_command(self.reader, self.writer)) is not None:
                goes_on = await self._handle(command)
                await self.writer.drain()
                if not goes_on:
                    break
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self.writer.close()

    def _send(self, *lines: bytes) -> None:
        self.writer.write(b"".join(line + b"\r\n" for line in lines))

    async def _handle(self, command: Command) -> bool:
        tag, name = command.tag, command.name
        if name == "LOGOUT":
            self._send(b"* BYE Logging out", tag + b" OK Logout completed.")
            return False
        if name == "CAPABILITY":
            self._send(b"* CAPABILITY " + CAPABILITIES, tag + b" OK Capability completed.")
        elif name == "NOOP":
            self._send(tag + b" OK NOOP completed.")
        elif name == "ID":
            self._send(b"* ID NIL", tag + b" OK ID completed.")
        elif not self.logged_in:
            await self._before_login(command)
        elif name in ("SELECT", "EXAMINE"):
            self._select(command)
        elif name == "LIST":
            self._send(b'* LIST (\\HasNoChildren) "." INBOX', tag + b" OK List completed.")
        elif name in ("CLOSE", "UNSELECT") and self.selected:
            self.selected = False
            self._send(tag + b" OK " + name.encode() + b" completed.")
        elif name in ("SEARCH", "UID SEARCH", "FETCH", "UID FETCH") and not self.selected:
            self._send(tag + b" BAD No mailbox selected.")
        elif name in ("SEARCH", "UID SEARCH"):
            self._search(command)
        elif name in ("FETCH", "UID FETCH"):
            self._fetch(command)
        elif name == "IDLE" and self.selected:
            await self._idle(tag)
        else:
            self._send(tag + b" BAD Error in IMAP command received by server.")
        return True

    async def _idle(self, tag: bytes) -> None:
        """RFC 2177 as Dovecot words it: "+ idling", then nothing (no mail arrives here) until the client's
        DONE. Anything else ends IDLE with a BAD, as Dovecot's does."""
        self._send(b"+ idling")
        await self.writer.drain()
        done = await read_line(self.reader)
        if done.strip().upper() == b"DONE":
            self._send(tag + b" OK Idle completed.")
        else:
            self._send(tag + b" BAD Expected DONE.")

    async def _before_login(self, command: Command) -> None:
        tag, arguments = command.tag, command.arguments
        if command.name == "STARTTLS":
            self._send(tag + b" BAD TLS support isn't enabled.")
        elif command.name == "LOGIN" and len(arguments) == 2:
            self._log_in(tag, arguments[0].decode("utf-8", "replace"), arguments[1].decode("utf-8", "replace"))
        elif command.name == "AUTHENTICATE" and arguments:
            await self._authenticate(tag, arguments[0].decode("ascii", "replace").upper(), arguments[1:])
        else:
            self._send(tag + b" BAD Error in IMAP command received by server.")

    async def _authenticate(self, tag: bytes, mechanism: str, initial: list[bytes]) -> None:
        if mechanism not in MECHANISMS:
            self._send(tag + b" NO Unsupported authentication mechanism.")
            return
        if initial:
            response = initial[0]
        else:
            self._send(b"+ ")
            response = await read_line(self.reader)
            if response == b"*":
                self._send(tag + b" " + ABORTED)
                return
        credentials = decode_sasl(mechanism, response)
        if credentials is not None and not self.refuses(credentials.user, credentials.secret):
            self._log_in(tag, credentials.user, credentials.secret)
            return
        if mechanism in ERROR_CHALLENGES:
            challenge = json.dumps(ERROR_CHALLENGES[mechanism], separators=(",", ":")).encode()
            self._send(b"+ " + base64.b64encode(challenge))
            if await read_line(self.reader) == b"*":
                self._send(tag + b" " + ABORTED)
                return
        self._send(tag + b" " + REFUSED)

    def _log_in(self, tag: bytes, user: str, secret: str) -> None:
        if self.refuses(user, secret):
            self._send(tag + b" " + REFUSED)
        else:
            self.logged_in = True
            self._send(tag + b" " + LOGGED_IN)

    def _select(self, command: Command) -> None:
        tag, arguments = command.tag, command.arguments
        if not arguments or arguments[0].upper() != b"INBOX":
            self.selected = False
            name = arguments[0] if arguments else b""
            self._send(tag + b" NO Mailbox doesn't exist: " + name)
            return
        self.selected = True
        read_only = command.name == "EXAMINE"
        uidnext = max((m.uid for m in self.messages), default=0) + 1
        self._send(
            b"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)",
            b"* OK [PERMANENTFLAGS ()] Read-only mailbox."
            if read_only
            else b"* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] Flags permitted.",
            b"* %d EXISTS" % len(self.messages),
            b"* 0 RECENT",
            b"* OK [UIDVALIDITY %d] UIDs valid" % UIDVALIDITY,
            b"* OK [UIDNEXT %d] Predicted next UID" % uidnext,
            tag + (b" OK [READ-ONLY] Examine completed." if read_only else b" OK [READ-WRITE] Select completed."),
        )

    def _search(self, command: Command) -> None:
        by_uid = command.name.startswith("UID")
        matches = list(enumerate(self.messages, start=1))
        criteria = [token.upper() for token in command.arguments if token not in (b"(", b")")]
        if criteria[:1] == [b"CHARSET"]:
            criteria = criteria[2:]
        while criteria:
            key = criteria.pop(0)
            try:
                if key == b"ALL":
                    continue
                if key == b"UID":
                    uids = criteria.pop(0)
                    largest = max((m.uid for m in self.messages), default=0)
                    matches = [(seq, m) for seq, m in matches if _in_set(m.uid, uids, largest)]
                elif key in (b"LARGER", b"SMALLER"):
                    size = int(criteria.pop(0))
                    larger = key == b"LARGER"
                    matches = [(seq, m) for seq, m in matches if (len(m.content) > size) == larger]
                else:
                    matches = [(seq, m) for seq, m in matches if _in_set(seq, key, len(self.messages))]
            except (IndexError, ValueError):
                self._send(command.tag + b" BAD Error in IMAP command SEARCH: Unknown argument " + key)
                return
        found = b"".join(b" %d" % (m.uid if by_uid else seq) for seq, m in matches)
        self._send(b"* SEARCH" + found, command.tag + b" OK Search completed.")

    def _fetch(self, command: Command) -> None:
        by_uid = command.name.startswith("UID")
        arguments = command.arguments
        items = [token.upper() for token in arguments[1:] if token not in (b"(", b")")]
        if not arguments or not items:
            self._send(command.tag + b" BAD Error in IMAP command FETCH: Invalid arguments.")
            return
        if b"FAST" in items:
            items = [b"FLAGS", b"INTERNALDATE", b"RFC822.SIZE"]
        if by_uid and b"UID" not in items:
            items.insert(0, b"UID")
        largest = max((m.uid for m in self.messages), default=0) if by_uid else len(self.messages)
        try:
            wanted = [
                (seq, message)
                for seq, message in enumerate(self.messages, start=1)
                if _in_set(message.uid if by_uid else seq, arguments[0], largest)
            ]
        except ValueError:
            self._send(command.tag + b" BAD Error in IMAP command FETCH: Invalid messageset")
            return
        out = bytearray()
        for seq, message in wanted:
            parts = [_fetch_item(item, message) for item in items]
            unknown = next((item for item, part in zip(items, parts, strict=True) if part is None), None)
            if unknown is not None:
                self._send(command.tag + b" BAD Error in IMAP command FETCH: Unknown parameter " + unknown)
                return
            out += b"* %d FETCH (" % seq + b" ".join(part for part in parts if part is not None) + b")\r\n"
        self.writer.write(bytes(out))
        self._send(command.tag + b" OK Fetch completed.")


def _literal(name: bytes, data: bytes) -> bytes:
    return name + b" {%d}\r\n" % len(data) + data


def _fetch_item(item: bytes, message: StoredMessage) -> bytes | None:
    head, _, text = message.content.partition(b"\r\n\r\n")
    section = item.replace(b"BODY.PEEK[", b"BODY[")
    values = {
        b"UID": b"UID %d" % message.uid,
        b"FLAGS": b"FLAGS ()",
        b"RFC822.SIZE": b"RFC822.SIZE %d" % len(message.content),
        b"INTERNALDATE": b"INTERNALDATE " + message.internal_date,
        b"RFC822": _literal(b"RFC822", message.content),
        b"RFC822.HEADER": _literal(b"RFC822.HEADER", head + b"\r\n\r\n"),
        b"BODY[]": _literal(b"BODY[]", message.content),
        b"BODY[HEADER]": _literal(b"BODY[HEADER]", head + b"\r\n\r\n"),
        b"BODY[TEXT]": _literal(b"BODY[TEXT]", text),
    }
    return values.get(section)


def _in_set(number: int, sequence_set: bytes, largest: int) -> bool:
    """Whether `number` is in an IMAP sequence set such as `1:*` or `2,4:6` (`*` is the largest)."""

    def value(text: bytes) -> int:
        return largest if text == b"*" else int(text)

    for part in sequence_set.split(b","):
        low, _, high = part.partition(b":")
        first, last = value(low), value(high or low)
        if min(first, last) <= number <= max(first, last):
            return True
    return False
