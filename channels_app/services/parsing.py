"""Reading the few headers we index out of a raw message, fast and without ever raising.

The email package's full parser costs more per message than fetching it from
the server does, so a backfill would be parser-bound. We only need six
headers: find the header block, unfold it, and decode just those values.
Whatever is malformed is noted in `problems` and the message is kept anyway.
"""

import email.utils
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.header import decode_header, make_header

WANTED = {b"message-id", b"from", b"to", b"cc", b"subject", b"date"}


@dataclass
class ParsedHeaders:
    message_id: str = ""
    from_address: str = ""
    to_addresses: str = ""
    subject: str = ""
    date: datetime | None = None
    problems: list[str] = field(default_factory=list)


def _header_block(raw: bytes) -> bytes | None:
    end = raw.find(b"\r\n\r\n")
    if end < 0:
        end = raw.find(b"\n\n")
    return raw[:end] if end >= 0 else None


def _fields(block: bytes) -> dict[bytes, list[bytes]]:
    found: dict[bytes, list[bytes]] = {}
    name: bytes | None = None
    for line in block.split(b"\n"):
        if line[:1] in (b" ", b"\t"):
            if name is not None:  # a folded continuation of the wanted header
                found[name][-1] += b" " + line.strip()
            continue
        colon = line.find(b":")
        key = line[:colon].strip().lower() if colon > 0 else b""
        if key in WANTED:
            name = key
            found.setdefault(key, []).append(line[colon + 1 :].strip())
        else:
            name = None
    return found


def _text(value: bytes, problems: list[str], label: str, limit: int = 998) -> str:
    try:
        text = value.decode("ascii")
    except UnicodeDecodeError:
        problems.append(f"8-bit {label}")
        try:
            text = value.decode("utf-8")
        except UnicodeDecodeError:
            text = value.decode("latin-1")
    if "=?" in text:
        try:
            text = str(make_header(decode_header(text)))
        except (LookupError, UnicodeError, ValueError, TypeError, AssertionError):
            problems.append(f"undecodable {label}")
    return " ".join(text.split())[:limit]


def _date(values: list[bytes] | None, problems: list[str]) -> datetime | None:
    if not values:
        problems.append("missing Date")
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(values[0].decode("latin-1"))
    except (TypeError, ValueError, IndexError, OverflowError):
        parsed = None
    if parsed is None:
        problems.append("unreadable Date")
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_headers(raw: bytes) -> ParsedHeaders:
    parsed = ParsedHeaders()
    problems = parsed.problems
    block = _header_block(raw)
    if block is None:
        problems.append("no blank line after the headers")
        block = raw[:65536]
    fields = _fields(block)
    ids = fields.get(b"message-id")
    if not ids:
        problems.append("missing Message-ID")
    else:
        if len(ids) > 1:
            problems.append("several Message-ID headers")
        parsed.message_id = _text(ids[0], problems, "Message-ID").strip("<> ")
    parsed.from_address = _text(b", ".join(fields.get(b"from", [])), problems, "From")
    recipients = fields.get(b"to", []) + fields.get(b"cc", [])
    parsed.to_addresses = _text(b", ".join(recipients), problems, "To", limit=10_000)
    parsed.subject = _text(b" ".join(fields.get(b"subject", [])), problems, "Subject")
    parsed.date = _date(fields.get(b"date"), problems)
    return parsed
