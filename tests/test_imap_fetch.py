"""An import's FETCH answers read fast, and every answer read exactly as imapclient reads it."""

from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from imapclient import response_parser

from channels_app.providers import imap_fetch
from channels_app.providers.imap_fetch import read_fetch

# Arrival times as servers write them, and text that is not one (imapclient reads those as no time).
dates = st.one_of(
    st.builds(
        "{:02d}-{}-{:04d} {:02d}:{:02d}:{:02d} {}{:04d}".format,
        st.integers(1, 31),
        st.sampled_from(["Jan", "Feb", "Mar", "Dec", "Foo"]),
        st.integers(1, 9999),
        st.integers(0, 23),
        st.integers(0, 59),
        st.integers(0, 60),
        st.sampled_from(["+", "-"]),
        st.integers(0, 2359),
    ),
    st.text(st.characters(min_codepoint=32, max_codepoint=126, exclude_characters='"\\'), max_size=30),
).map(str.encode)
numbers = st.integers(0, 2**63 - 1)
literals = st.binary(max_size=300) | st.sampled_from([b"", b")", b"{3}\r\nabc", b'"\\', b"\r\n)\r\n"])


@st.composite
def message(draw: st.DrawFn, seq: int) -> tuple[bytes, bytes]:
    items: list[bytes] = [b"UID %d" % draw(numbers)]
    if draw(st.booleans()):
        items.append(b'INTERNALDATE "%s"' % draw(dates))
    if draw(st.booleans()):
        items.append(b"X-GM-MSGID %d" % draw(numbers))
    if draw(st.booleans()):
        items.append(b"RFC822.SIZE %d" % draw(numbers))
    items = draw(st.permutations(items))
    body = draw(literals)
    fields = draw(st.lists(st.sampled_from([b"MESSAGE-ID", b"DATE", b"FROM", b"X-GM-THRID"]), max_size=4))
    name = b"BODY[HEADER.FIELDS (%s)]" % b" ".join(fields) if fields else b"BODY[]"
    return (b"%d (%s %s {%d}" % (seq, b" ".join([*items, b""])[:-1], name, len(body)), body)


@st.composite
def answers(draw: st.DrawFn) -> list[Any]:
    """imaplib's untagged FETCH data: each message a (line, literal) pair then b")"."""
    data: list[Any] = []
    for seq in range(1, draw(st.integers(0, 5)) + 1):
        data += [draw(message(seq)), b")"]
    return data


def imapclient_reads(data: list[Any], *, normalise_times: bool) -> dict[int, dict[bytes, Any]]:
    return dict(response_parser.parse_fetch_response(data, normalise_times, True))


@given(answers(), st.booleans())
def test_the_usual_shape_is_read_fast_and_as_imapclient_reads_it(data, normalise_times):
    fast = imap_fetch._fast(data, normalise_times=normalise_times)
    assert fast is not None
    assert fast == imapclient_reads(data, normalise_times=normalise_times)


# Each an answer of another shape, which goes to imapclient whole.
OTHER_SHAPES = [
    [(b"1 (UID 7 FLAGS (\\Seen) BODY[] {3}", b"abc"), b")"],  # an item we did not ask for
    [(b'1 (UID 7 INTERNALDATE "01-Dec-2026 \\"04:00:26 +0000" BODY[] {3}', b"abc"), b")"],  # an escape
    [(b"1 (UID 7 BODY[] {3}", b"abc"), b" FLAGS (\\Seen))"],  # items after the literal
    [(b"1 (uid 7 BODY[] {3}", b"abc"), b")"],  # lower case
    [b"3 (FLAGS (\\Seen))", (b"1 (UID 7 BODY[] {3}", b"abc"), b")"],  # an unsolicited FETCH first
    [(b"1 (BODY[] {3}", b"abc"), b")"],  # no UID
]


@pytest.mark.parametrize("data", OTHER_SHAPES)
def test_any_other_shape_is_read_by_imapclient(data):
    assert imap_fetch._fast(data, normalise_times=False) is None
    assert read_fetch(data, normalise_times=False) == imapclient_reads(data, normalise_times=False)


@given(answers(), st.data())
def test_any_answer_is_read_as_imapclient_reads_it(data, draw):
    """The usual shape with one part spoiled anywhere: the reading is still imapclient's."""
    if data:
        spoiled = list(data)
        at = draw.draw(st.integers(0, len(spoiled) - 1))
        spoiled[at] = draw.draw(st.sampled_from(OTHER_SHAPES))[0]
        data = spoiled
    try:
        expected = imapclient_reads(data, normalise_times=False)
    except response_parser.ProtocolError:
        with pytest.raises(response_parser.ProtocolError):
            read_fetch(data, normalise_times=False)
        return
    assert read_fetch(data, normalise_times=False) == expected


def test_no_answer_is_no_messages():
    assert read_fetch([None], normalise_times=False) == {}
    assert read_fetch([], normalise_times=False) == {}


# Arrival times near and in the canonical form, fields in and out of range.
near_canonical = st.builds(
    "{}-{}-{:04d} {:02d}:{:02d}:{:02d} {}{:02d}{:02d}".format,
    st.sampled_from([" 1", " 9", "01", "00", "09", "29", "31", "32", "39", "5"]),
    st.sampled_from(["Jan", "Feb", "Apr", "Dec", "dec", "Foo"]),
    st.integers(0, 9999),
    st.integers(0, 29),
    st.integers(0, 69),
    st.integers(0, 69),
    st.sampled_from(["+", "-"]),
    st.integers(0, 29),
    st.integers(0, 69),
).map(str.encode)


@given(near_canonical | dates)
def test_an_arrival_time_is_read_as_imapclient_reads_it(text):
    from imapclient.datetime_util import parse_to_datetime

    try:
        expected = parse_to_datetime(text, normalise=False)
    except ValueError:
        expected = None
    read = imap_fetch._internal_date(text, normalise_times=False)
    try:
        offset = expected and expected.utcoffset()
    except ValueError:  # imapclient made a time with a zone of 24 hours or more, which cannot be compared
        assert imap_fetch._DATE.fullmatch(text) is None  # so that reading stays imapclient's own
        return
    assert read == expected
    if read is not None:
        assert read.utcoffset() == offset


def test_the_usual_arrival_time_is_read_without_imapclient(monkeypatch):
    monkeypatch.setattr(imap_fetch, "parse_to_datetime", None)  # would fail if called
    read = imap_fetch._internal_date(b"01-Dec-2026 04:00:26 -0130", normalise_times=False)
    assert read.isoformat() == "2026-12-01T04:00:26-01:30"
    assert imap_fetch._internal_date(b" 1-Dec-2026 04:00:26 -0000", normalise_times=False).utcoffset() == timedelta(0)
