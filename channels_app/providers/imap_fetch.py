"""FETCH answers of the one shape an import asks for, read without imapclient's general parser.

imapclient reads a FETCH answer token by token in Python (`response_parser.parse_fetch_response`):
about half of what fetching a 3 KB message costs us (bench/RESULTS.md). What our imports ask for
(`BODY.PEEK[]` with `INTERNALDATE`, `UID` and Gmail's `X-GM-MSGID`) comes back from Dovecot, Gmail and
Exchange as one line of numbers and a quoted date before the message's literal, then `)`:

    * 12 FETCH (UID 345 INTERNALDATE "01-Dec-2026 04:00:26 +0000" BODY[] {3003}
    <3003 bytes>)

Reconciliation's facts (`BODY.PEEK[HEADER.FIELDS (...)]` with the size) come back alike, the literal
named `BODY[HEADER.FIELDS (...)]`. `read_fetch` reads exactly those shapes with one regular expression
per message and gives what imapclient would. Anything else anywhere in the answer (another item, an
escaped quote, a literal whose length differs, an unsolicited FETCH, lower case) and the whole answer
goes to imapclient's parser instead, so what is read is never a guess; tests/test_imap_fetch.py holds
both readings equal on generated answers.
"""

import re
from datetime import datetime
from typing import Any

from imapclient.datetime_util import parse_to_datetime
from imapclient.fixed_offset import FixedOffset
from imapclient.response_parser import parse_fetch_response

_HEAD = re.compile(
    rb'(\d+) \(((?:(?:UID|X-GM-MSGID|RFC822\.SIZE) \d+ |INTERNALDATE "[^"\\\r\n]*" )*)'
    rb"(BODY\[(?:HEADER\.FIELDS \([A-Z0-9-]+(?: [A-Z0-9-]+)*\))?\]) \{(\d+)\}"
)
_ITEM = re.compile(rb'(UID|X-GM-MSGID|RFC822\.SIZE) (\d+) |(INTERNALDATE) "([^"\\\r\n]*)" ')


# RFC 3501's date-time as servers write it ("01-Dec-2026 04:00:26 +0000"), within ranges where the fields
# mean what email.utils.parsedate_tz (imapclient's reader) makes of them: a year of four digits from 1000
# (it reads "0099" as 1999), a time of day and a zone under 24 hours.
_MONTHS = {m: i for i, m in enumerate(b"Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(), 1)}
_DATE = re.compile(
    rb"( [1-9]|[0-3]\d)-(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)-([1-9]\d{3}) "
    rb"([01]\d|2[0-3]):([0-5]\d):([0-5]\d) ([+-])([01]\d|2[0-3])([0-5]\d)"
)


def _internal_date(text: bytes, *, normalise_times: bool) -> Any:
    """As imapclient reads an INTERNALDATE (datetime_util.parse_to_datetime), in about half the time."""
    found = _DATE.fullmatch(text) if not normalise_times else None
    try:
        if found is None:
            return parse_to_datetime(text, normalise=normalise_times)
        minutes = int(found[8]) * 60 + int(found[9])
        zone = FixedOffset(-minutes if found[7] == b"-" else minutes)
        numbers = (int(found[3]), _MONTHS[found[2]], int(found[1]), int(found[4]), int(found[5]), int(found[6]))
        return datetime(*numbers, tzinfo=zone)
    except ValueError:
        return None  # as imapclient: an arrival time it cannot read (31 Feb) is no time


def _fast(data: list[Any], *, normalise_times: bool) -> dict[int, dict[bytes, Any]] | None:
    """Keyed by UID, as imapclient's parse with uid_is_key; None when any part has another shape."""
    parsed: dict[int, dict[bytes, Any]] = {}
    for position in range(0, len(data), 2):
        part, closing = data[position], data[position + 1] if position + 1 < len(data) else None
        if closing != b")" or not isinstance(part, tuple) or len(part) != 2:
            return None
        head, literal = part
        match = _HEAD.fullmatch(head) if isinstance(head, bytes) and isinstance(literal, bytes) else None
        if match is None or int(match[4]) != len(literal):
            return None
        item: dict[bytes, Any] = {b"SEQ": int(match[1])}
        for found in _ITEM.finditer(match[2]):
            if found[1] is not None:
                item[found[1]] = int(found[2])
            else:
                item[b"INTERNALDATE"] = _internal_date(found[4], normalise_times=normalise_times)
        item[match[3]] = literal
        uid = item.pop(b"UID", None)
        if uid is None:
            return None
        parsed.setdefault(uid, {}).update(item)
    return parsed


def read_fetch(data: list[Any], *, normalise_times: bool) -> dict[int, dict[bytes, Any]]:
    """imaplib's untagged FETCH data of a UID FETCH, read as imapclient reads it (keyed by UID)."""
    fast = _fast(data, normalise_times=normalise_times)
    if fast is not None:
        return fast
    return dict(parse_fetch_response(data, normalise_times, True))
