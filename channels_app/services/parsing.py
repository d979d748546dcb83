"""Reading the few headers we index out of a raw message, fast, whole and without ever raising.

The email package's full parser costs more per message than fetching it from
the server does, so a backfill would be parser-bound. We only need six
headers: find the header block, unfold it, and decode just those values.

Nothing is lost or invented: values are kept as sent (whitespace and control
characters included) apart from unfolding and RFC 2047 decoding; the first of
repeated single fields wins. Whatever is malformed, or had to be changed to be
stored at all, is noted in `problems` and the message is kept anyway.
"""

import base64
import binascii
import email.utils
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from channels_app.services.identity import HEADER_READ_LIMIT

BYTE_ORDER_MARK = b"\xef\xbb\xbf"
# Far above any real header (RFC 5322 lines stop at 998 octets, but folding has no limit): only abuse is cut.
VALUE_LIMIT = 100_000
# A stored date must show in every time zone (offsets reach a day) and survive a day's arithmetic: keep clear of
# the edges of what datetime can hold, or a page, or every later sync of the channel, fails on it.
EARLIEST_DATE = datetime.min.replace(tzinfo=UTC) + timedelta(days=2)
LATEST_DATE = datetime.max.replace(tzinfo=UTC) - timedelta(days=2)

_SINGLE = {b"message-id": "Message-ID", b"from": "From", b"subject": "Subject", b"date": "Date"}
_LISTS = {b"to": "To", b"cc": "Cc"}
_WANTED = _SINGLE.keys() | _LISTS.keys()
# CRLF, CR and LF all end a line; atomic groups keep a CRLF from counting as two line ends.
_LINE_END = re.compile(rb"\r\n|\r|\n")
_EMPTY_LINE = re.compile(rb"(?>\r\n|\r|\n)(?>\r\n|\r|\n)")
_FOLDING_WHITESPACE = " \t"
# RFC 2047: =?charset?encoding?encoded-text?=, the charset possibly with an RFC 2231 *language.
_ENCODED_WORD = re.compile(r"=\?([!->@-~]+)\?([BbQq])\?([!->@-~]*)\?=")
_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass
class ParsedHeaders:
    message_id: str = ""
    from_address: str = ""
    to_addresses: str = ""
    subject: str = ""
    date: datetime | None = None
    problems: list[str] = field(default_factory=list)
    # The wanted fields as read (unfolded, in order) when the message starts with a header block of
    # CRLF lines that services/identity.py reads whole, exactly as read here: its header key can be
    # taken from them without reading the block a second time (identity.message_header_key).
    crlf_fields: dict[bytes, list[bytes]] | None = None


def _note(problems: list[str], problem: str) -> None:
    if problem not in problems:
        problems.append(problem)


def _header_block(raw: bytes, problems: list[str]) -> bytes:
    """The bytes before the first empty line, whichever line ends the message uses."""
    if _LINE_END.match(raw):
        return b""  # the message starts with the empty line: no headers at all
    empty = _EMPTY_LINE.search(raw)
    if empty is not None:
        return raw[: empty.start()]
    if not raw.endswith((b"\r", b"\n")):  # a header-only message may simply end after its last line
        problems.append("no blank line after the headers")
    return raw


def _crlf_header_block(raw: bytes) -> bytes | None:
    """The header block found with plain searches when every line of it ends in CRLF, as RFC 5322
    (2.1) asks and nearly all mail does; None sends the message the general way (_header_block).

    The first CRLF CRLF then is the first empty line: with no lone CR or LF before it, any other
    pair of line ends would be an earlier CRLF CRLF."""
    if raw[:1] in (b"\r", b"\n"):
        return None
    end = raw.find(b"\r\n\r\n")
    if end < 0:
        return None
    block = raw[:end]
    line_ends = block.count(b"\r\n")
    return block if block.count(b"\r") == line_ends == block.count(b"\n") else None


def _fields(lines: list[bytes]) -> dict[bytes, list[bytes]]:
    """Each wanted field's values, unfolded (a line end before white space removed), in order."""
    found: dict[bytes, list[list[bytes]]] = {}
    current: list[bytes] | None = None
    for line in lines:
        if line[:1] in (b" ", b"\t"):
            if current is not None:  # a folded continuation of a wanted field
                current.append(line)
            continue
        colon = line.find(b":")
        key = line[:colon].rstrip(b" \t").lower() if colon > 0 else b""
        if key in _WANTED:
            current = [line[colon + 1 :]]
            found.setdefault(key, []).append(current)
        else:
            current = None
    return {key: [b"".join(parts) for parts in values] for key, values in found.items()}


def _decoded(value: bytes, problems: list[str], label: str) -> str:
    value = value.strip(b" \t")
    try:
        return value.decode("ascii")
    except UnicodeDecodeError:
        _note(problems, f"8-bit {label}")
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")


def _encoded_word(match: re.Match[str]) -> str | None:
    charset, encoding, text = match.group(1).split("*", 1)[0], match.group(2), match.group(3).encode("ascii")
    try:
        if encoding in "Bb":
            data = base64.b64decode(text + b"=" * (-len(text) % 4), validate=True)
        else:
            data = binascii.a2b_qp(text, header=True)
        return data.decode(charset)
    except (LookupError, ValueError):  # unknown charset, bad base64, bytes not in the charset
        return None


def _unencoded(text: str, problems: list[str], label: str) -> str:
    """RFC 2047 decoded: white space between two encoded words goes, all other text stays as sent."""
    if "=?" not in text:
        return text
    pieces: list[str] = []
    position, after_word = 0, False
    for match in _ENCODED_WORD.finditer(text):
        between = text[position : match.start()]
        decoded = _encoded_word(match)
        if decoded is None:
            _note(problems, f"undecodable {label}")
            pieces += [between, match.group(0)]
        else:
            pieces += [decoded] if after_word and not between.strip(_FOLDING_WHITESPACE) else [between, decoded]
        position, after_word = match.end(), decoded is not None
    pieces.append(text[position:])
    return "".join(pieces)


def _storable(text: str, problems: list[str], label: str) -> str:
    """What the database can hold: no NUL (PostgreSQL text cannot), no unpaired surrogate (not UTF-8), bounded."""
    if "\x00" in text:
        text = text.replace("\x00", "\ufffd")
        _note(problems, f"NUL in {label}, replaced")
    if not text.isascii() and _SURROGATE.search(text):
        text = _SURROGATE.sub("\ufffd", text)
        _note(problems, f"unpaired surrogate in {label}, replaced")
    if len(text) > VALUE_LIMIT:
        text = text[:VALUE_LIMIT]
        _note(problems, f"{label} longer than {VALUE_LIMIT} characters, cut")
    return text


def _first(fields: dict[bytes, list[bytes]], key: bytes, problems: list[str]) -> bytes | None:
    values = fields.get(key)
    if not values:
        return None
    if len(values) > 1:
        problems.append(f"several {_SINGLE[key]} headers")
    return values[0]


def _text(value: bytes | None, problems: list[str], label: str) -> str:
    if value is None:
        return ""
    return _storable(_unencoded(_decoded(value, problems, label), problems, label), problems, label)


def _message_id(value: bytes | None, problems: list[str]) -> str:
    """RFC 5322 msg-id is "<" id-left "@" id-right ">": what is inside the first pair, even a "<"."""
    if value is None:
        problems.append("missing Message-ID")
        return ""
    text = _decoded(value, problems, "Message-ID")
    start = text.find("<")
    end = text.find(">", start + 1) if start >= 0 else -1
    if end < 0:
        problems.append("Message-ID without angle brackets")
    else:
        text = text[start + 1 : end]
    return _storable(text, problems, "Message-ID")


def _recipients(fields: dict[bytes, list[bytes]], problems: list[str]) -> str:
    """To and Cc are address lists: every occurrence counts, joined."""
    texts = [_text(value, problems, label) for key, label in _LISTS.items() for value in fields.get(key, [])]
    return _storable(", ".join(text for text in texts if text), problems, "To")


def date_in_range(value: datetime) -> datetime | None:
    """`value` if its UTC time is between EARLIEST_DATE and LATEST_DATE, else None."""
    try:
        utc = value.astimezone(UTC)
    except (OverflowError, ValueError):
        return None
    return value if EARLIEST_DATE <= utc <= LATEST_DATE else None


def _date(value: bytes | None, problems: list[str]) -> datetime | None:
    if value is None:
        problems.append("missing Date")
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value.decode("latin-1"))
    except (TypeError, ValueError, IndexError, OverflowError):
        problems.append("unreadable Date")
        return None
    in_range = date_in_range(parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC))
    if in_range is None:
        problems.append("Date out of range")
    return in_range


def parse_headers(raw: bytes) -> ParsedHeaders:
    parsed = ParsedHeaders()
    problems = parsed.problems
    bom = raw.startswith(BYTE_ORDER_MARK)
    if bom:
        raw = raw[len(BYTE_ORDER_MARK) :]
        problems.append("byte-order mark before the headers, dropped")
    block = _crlf_header_block(raw)
    if block is None:
        fields = _fields(_LINE_END.split(_header_block(raw, problems)))
    else:
        fields = _fields(block.split(b"\r\n"))
        if not bom and len(block) + len(b"\r\n\r\n") <= HEADER_READ_LIMIT:
            parsed.crlf_fields = fields
    parsed.message_id = _message_id(_first(fields, b"message-id", problems), problems)
    parsed.from_address = _text(_first(fields, b"from", problems), problems, "From")
    parsed.to_addresses = _recipients(fields, problems)
    parsed.subject = _text(_first(fields, b"subject", problems), problems, "Subject")
    parsed.date = _date(_first(fields, b"date", problems), problems)
    return parsed
