"""Reading headers out of raw messages: whole values, every line-ending convention, nothing lost or invented."""

import base64
import email.utils
import encodings.aliases
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from channels_app.services.parsing import BYTE_ORDER_MARK, _crlf_header_block, _header_block, parse_headers

DATE = b"Date: Mon, 30 Nov 2026 10:00:00 +0100"


def _message(*lines: bytes, end: bytes = b"\r\n", body: bytes = b"body") -> bytes:
    return end.join(lines) + end + end + body


def test_headers_are_parsed_and_folded_lines_joined():
    raw = (
        b"From: =?utf-8?q?J=C3=BCrgen?= <j@example.test>\r\nTo: a@x.test,\r\n b@x.test\r\nCc: c@x.test\r\n"
        b"Subject: Hello\r\n world\r\nMessage-ID: <id-1@x>\r\nDate: Mon, 30 Nov 2026 10:00:00 +0100\r\n\r\nbody"
    )
    parsed = parse_headers(raw)
    assert parsed.from_address == "Jürgen <j@example.test>"
    assert parsed.to_addresses == "a@x.test, b@x.test, c@x.test"
    assert (parsed.subject, parsed.message_id, parsed.problems) == ("Hello world", "id-1@x", [])
    assert parsed.date is not None and parsed.date.isoformat() == "2026-11-30T10:00:00+01:00"


def test_header_names_in_the_body_are_not_read():
    parsed = parse_headers(b"Subject: real\r\n\r\nSubject: fake\r\nMessage-ID: <fake@x>\r\n")
    assert parsed.subject == "real" and parsed.message_id == ""
    assert parsed.problems == ["missing Message-ID", "missing Date"]


def test_long_values_are_kept_whole():
    subject, sender, recipients = "s" * 5000, "f" * 3000 + "@x.test", ", ".join(f"r{i}@x.test" for i in range(2000))
    raw = _message(
        b"Subject: " + subject.encode(),
        b"From: " + sender.encode(),
        b"To: " + recipients.encode(),
        b"Message-ID: <" + b"i" * 2000 + b"@x>",
        DATE,
    )
    parsed = parse_headers(raw)
    assert (parsed.subject, parsed.from_address, parsed.to_addresses) == (subject, sender, recipients)
    assert parsed.message_id == "i" * 2000 + "@x"
    assert parsed.problems == []


def test_values_past_100000_characters_are_cut_and_recorded():
    parsed = parse_headers(_message(b"Subject: " + b"s" * 100_001, b"Message-ID: <a@x>", DATE))
    assert parsed.subject == "s" * 100_000
    assert parsed.problems == ["Subject longer than 100000 characters, cut"]


@pytest.mark.parametrize("end", [b"\r\n", b"\n", b"\r"], ids=["CRLF", "LF", "CR"])
def test_every_line_ending_convention_reads_the_same(end):
    raw = _message(
        b"From: a@x.test", b"Subject: one", b" two", b"Message-ID: <a@x>", DATE, end=end, body=b"Subject: fake"
    )
    parsed = parse_headers(raw)
    assert (parsed.from_address, parsed.subject, parsed.message_id) == ("a@x.test", "one two", "a@x")
    assert parsed.date is not None and parsed.problems == []


@pytest.mark.parametrize("blank", [b"\r\n\r\n", b"\n\n", b"\r\r", b"\r\n\n", b"\n\r\n", b"\r\r\n", b"\n\r"])
def test_the_header_block_ends_at_the_first_empty_line_of_any_convention(blank):
    raw = b"From: a@x.test\r\nSubject: real\nMessage-ID: <a@x>\r" + DATE + blank + b"Subject: fake\r\nbody"
    parsed = parse_headers(raw)
    assert (parsed.from_address, parsed.subject, parsed.message_id) == ("a@x.test", "real", "a@x")
    assert parsed.problems == []


def test_a_crlf_is_one_line_end_not_an_empty_line():
    parsed = parse_headers(b"Subject: one\r\nMessage-ID: <a@x>\r\n" + DATE + b"\r\n\r\nbody")
    assert (parsed.subject, parsed.message_id, parsed.problems) == ("one", "a@x", [])


@pytest.mark.parametrize(
    ("field", "first", "second", "attribute", "expected"),
    [
        (b"Subject", b"first", b"second", "subject", "first"),
        (b"From", b"a@x.test", b"b@x.test", "from_address", "a@x.test"),
        (b"Message-ID", b"<a@x>", b"<b@x>", "message_id", "a@x"),
    ],
)
def test_the_first_of_repeated_single_fields_is_kept_and_recorded(field, first, second, attribute, expected):
    others = [line for line in (b"Subject: s", b"From: f@x.test", b"Message-ID: <m@x>") if not line.startswith(field)]
    raw = _message(field + b": " + first, *others, field + b": " + second, DATE)
    parsed = parse_headers(raw)
    assert getattr(parsed, attribute) == expected
    assert parsed.problems == [f"several {field.decode()} headers"]


def test_the_first_of_repeated_dates_is_kept_and_recorded():
    parsed = parse_headers(_message(b"Message-ID: <a@x>", DATE, b"Date: Tue, 1 Dec 2026 10:00:00 +0000"))
    assert parsed.date is not None and parsed.date.isoformat() == "2026-11-30T10:00:00+01:00"
    assert parsed.problems == ["several Date headers"]


def test_to_and_cc_are_address_lists_joined_in_order():
    raw = _message(b"To: a@x.test", b"Cc: c@x.test", b"To: b@x.test", b"Message-ID: <a@x>", DATE)
    parsed = parse_headers(raw)
    assert (parsed.to_addresses, parsed.problems) == ("a@x.test, b@x.test, c@x.test", [])


def test_a_leading_byte_order_mark_is_dropped_and_recorded():
    parsed = parse_headers(b"\xef\xbb\xbf" + _message(b"From: a@x.test", b"Message-ID: <a@x>", DATE))
    assert (parsed.from_address, parsed.message_id) == ("a@x.test", "a@x")
    assert parsed.problems == ["byte-order mark before the headers, dropped"]


def test_control_characters_and_inner_whitespace_are_kept_as_sent():
    raw = _message(b"Subject: a\x1fb\x0bc\x0cd  e\tf\x7f", b"From: x\x1b[31m@x.test", b"Message-ID: <a@x>", DATE)
    parsed = parse_headers(raw)
    assert parsed.subject == "a\x1fb\x0bc\x0cd  e\tf\x7f"
    assert parsed.from_address == "x\x1b[31m@x.test"
    assert parsed.problems == []


def test_nul_is_replaced_and_recorded_since_postgresql_text_cannot_hold_it():
    parsed = parse_headers(_message(b"Subject: a\x00b", b"Message-ID: <a@x>", DATE))
    assert parsed.subject == "a\ufffdb"
    assert parsed.problems == ["NUL in Subject, replaced"]


def test_a_nul_inside_an_encoded_word_is_replaced_too():
    parsed = parse_headers(_message(b"Subject: =?utf-8?q?a=00b?=", b"Message-ID: <a@x>", DATE))
    assert parsed.subject == "a\ufffdb"
    assert parsed.problems == ["NUL in Subject, replaced"]


def test_a_charset_that_decodes_to_unpaired_surrogates_is_replaced_and_recorded():
    parsed = parse_headers(_message(b"Subject: =?utf-7?q?+2AA-?=", b"Message-ID: <a@x>", DATE))
    assert parsed.subject == "\ufffd"
    assert parsed.subject.encode()
    assert parsed.problems == ["unpaired surrogate in Subject, replaced"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (b"<a<b@c>", "a<b@c"),
        (b"<<a@b>", "<a@b"),
        (b"<a@b> (added by the relay)", "a@b"),
        (b"(comment) <a@b>", "a@b"),
        (b"<a@b>>", "a@b"),
    ],
)
def test_message_id_is_what_is_inside_the_first_angle_bracket_pair(value, expected):
    parsed = parse_headers(_message(b"Message-ID: " + value, DATE))
    assert (parsed.message_id, parsed.problems) == (expected, [])


@pytest.mark.parametrize("value", [b"a@b", b"a@b>", b"<a@b"])
def test_a_message_id_without_an_angle_bracket_pair_is_kept_trimmed_and_recorded(value):
    parsed = parse_headers(_message(b"Message-ID:   " + value + b"  ", DATE))
    assert parsed.message_id == value.decode()
    assert parsed.problems == ["Message-ID without angle brackets"]


def test_encoded_words_join_without_the_space_between_them_and_keep_the_text_around_them():
    raw = _message(b"Subject: Gr\xc3\xbc\xc3\x9fe =?utf-8?q?aus?=  =?utf-8?b?S8O2bG4=?= !", b"Message-ID: <a@x>", DATE)
    parsed = parse_headers(raw)
    assert parsed.subject == "Grüße ausKöln !"
    assert parsed.problems == ["8-bit Subject"]


def test_an_undecodable_encoded_word_is_kept_as_sent_and_recorded():
    raw = _message(b"Subject: a =?x-klingon?q?Qapla=27?= =?utf-8?q?b?=", b"Message-ID: <a@x>", DATE)
    parsed = parse_headers(raw)
    assert parsed.subject == "a =?x-klingon?q?Qapla=27?= b"
    assert parsed.problems == ["undecodable Subject"]


def test_a_header_only_message_ending_in_a_line_end_is_not_a_problem():
    parsed = parse_headers(b"Subject: s\r\nMessage-ID: <a@x>\r\n" + DATE + b"\r\n")
    assert (parsed.subject, parsed.problems) == ("s", [])


def test_a_message_without_a_blank_line_or_final_line_end_is_read_whole_and_recorded():
    parsed = parse_headers(b"Subject: s\r\nMessage-ID: <a@x>\r\n" + DATE)
    assert parsed.date is not None and parsed.subject == "s"
    assert parsed.problems == ["no blank line after the headers"]


@pytest.mark.parametrize(
    "date",
    [
        b"Fri, 31 Dec 9999 23:59:59 -1200",  # past datetime.max in UTC
        b"Fri, 31 Dec 9999 23:59:59 +1400",  # in range in UTC, past it in an eastern time zone
        b"Thu, 30 Dec 9999 00:00:00 +0000",  # less than two days from the edge
    ],
)
def test_a_date_at_the_edge_of_what_datetime_holds_is_not_kept_and_recorded(date):
    parsed = parse_headers(_message(b"Message-ID: <a@x>", b"Date: " + date))
    assert (parsed.date, parsed.problems) == (None, ["Date out of range"])


def test_a_date_two_days_inside_the_edge_is_kept():
    parsed = parse_headers(_message(b"Message-ID: <a@x>", b"Date: Wed, 29 Dec 9999 23:59:59 +0000"))
    assert parsed.date == datetime(9999, 12, 29, 23, 59, 59, tzinfo=UTC) and parsed.problems == []
    ancient = parse_headers(_message(b"Message-ID: <a@x>", b"Date: 1 Jan 100 00:00:00 +1400"))
    assert ancient.date == datetime(99, 12, 31, 10, tzinfo=UTC) and ancient.problems == []


@pytest.mark.parametrize("date", [b"yesterday-ish", b"Mon, 30 Nov 2026 10:00:00 +9959", b"1 Jan 99999 00:00 +0000"])
def test_an_unreadable_date_is_recorded(date):
    parsed = parse_headers(_message(b"Message-ID: <a@x>", b"Date: " + date))
    assert (parsed.date, parsed.problems) == (None, ["unreadable Date"])


# Properties: for any bytes the parser returns; for any header block it finds every wanted header whole.

_WANTED = ("Subject", "From", "Date", "Message-ID", "To", "Cc")
_LINE_ENDS = (b"\r\n", b"\n", b"\r")
# Anything a value may hold except CR and LF, which end its line (and surrogates, which UTF-8 cannot carry).
_value_char = st.characters(exclude_categories=["Cs"], exclude_characters="\r\n")
_field_name = st.text(st.characters(min_codepoint=33, max_codepoint=126, exclude_characters=":"), min_size=1).filter(
    lambda name: name.lower() not in {wanted.lower() for wanted in _WANTED}
)


def _q_encoded(byte: int) -> str:
    character = chr(byte)
    return character if character.isascii() and character.isalnum() else "_" if byte == 32 else f"={byte:02X}"


def _encode_word(text: str, charset: str, encoding: str) -> str:
    data = text.encode(charset)
    encoded = base64.b64encode(data).decode() if encoding == "B" else "".join(_q_encoded(byte) for byte in data)
    return f"=?{charset}?{encoding}?{encoded}?="


@st.composite
def _unstructured_value(draw: st.DrawFn) -> tuple[str, str]:
    """(as sent, as it should read): text, white space and RFC 2047 encoded words in any order."""
    segments: list[tuple[str, str, str]] = []  # (kind, decoded, as sent) with kind "text" or "word"
    for _ in range(draw(st.integers(0, 5))):
        if draw(st.booleans()):
            decoded = draw(st.text(st.characters(exclude_categories=["Cs"]), max_size=12))
            charset = draw(st.sampled_from(["utf-8", "UTF-8", "iso-8859-1", "utf-16"]))
            if charset == "iso-8859-1" and not all(ord(c) < 256 for c in decoded):
                charset = "utf-8"
            encoding = draw(st.sampled_from("BQ"))
            segments.append(("word", decoded, _encode_word(decoded, charset, encoding)))
        else:
            text = draw(st.one_of(st.text(_value_char, max_size=15), st.text(" \t", min_size=1, max_size=3)))
            if segments and segments[-1][0] == "text":
                text = segments.pop()[1] + text
            segments.append(("text", text, text.replace("=?", "= ?")))
    sent = "".join(segment[2] for segment in segments).strip(" \t")
    expected = []
    for i, (kind, decoded, encoded) in enumerate(segments):
        if kind == "word":
            expected.append(decoded)
            continue
        text = encoded
        between_words = 0 < i < len(segments) - 1 and segments[i - 1][0] == segments[i + 1][0] == "word"
        if between_words and not text.strip(" \t"):
            continue
        if i == 0:
            text = text.lstrip(" \t")
        if i == len(segments) - 1:
            text = text.rstrip(" \t")
        expected.append(text)
    return sent, "".join(expected).replace("\x00", "\ufffd")


@st.composite
def _message_id_value(draw: st.DrawFn) -> tuple[str, str]:
    inside = draw(st.text(_value_char, max_size=20).filter(lambda text: ">" not in text))
    before, after = draw(st.text(_value_char, max_size=5)), draw(st.text(_value_char, max_size=5))
    if "<" in before or not draw(st.booleans()):
        sent = (before + inside + after).strip(" \t")
        start = sent.find("<")
        end = sent.find(">", start + 1) if start >= 0 else -1
        return sent, (sent[start + 1 : end] if end >= 0 else sent).replace("\x00", "\ufffd")
    return f"{before}<{inside}>{after}".strip(" \t"), inside.replace("\x00", "\ufffd")


_dates = st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)).map(
    lambda moment: moment.replace(microsecond=0)
)


@st.composite
def _wanted_value(draw: st.DrawFn, name: str) -> tuple[str, object]:
    if name == "Message-ID":
        return draw(_message_id_value())
    if name == "Date":
        offset = timezone(timedelta(minutes=draw(st.integers(-23 * 60 - 59, 23 * 60 + 59))))
        moment = draw(_dates).astimezone(offset)
        return email.utils.format_datetime(moment), moment
    return draw(_unstructured_value())


def _fold(line: bytes, after: int, points: list[int], end: bytes) -> bytes:
    """A line end put before some of the white space after `after`: what RFC 5322 folding does."""
    spaces = [i for i in range(after, len(line)) if line[i : i + 1] in (b" ", b"\t")]
    chosen = sorted({spaces[p % len(spaces)] for p in points}) if spaces else []
    pieces, start = [], 0
    for i in chosen:
        pieces.append(line[start:i])
        start = i
    pieces.append(line[start:])
    return end.join(pieces)


@st.composite
def _header_blocks(draw: st.DrawFn) -> tuple[bytes, dict[str, list[object]], bool]:
    """(raw message, the wanted fields' expected values in order, whether a BOM leads)."""
    convention = draw(st.sampled_from([*_LINE_ENDS, b"mixed"]))
    lines: list[tuple[bytes, bytes]] = []  # (line, its end)
    wanted: dict[str, list[object]] = {}
    for _ in range(draw(st.integers(0, 12))):
        end = draw(st.sampled_from(_LINE_ENDS)) if convention == b"mixed" else convention
        kind = draw(st.sampled_from(["wanted", "wanted", "other", "junk"]))
        if kind == "junk":  # a line without a colon
            line = draw(_field_name).encode()
        elif kind == "other":
            value = draw(st.text(_value_char, max_size=30))
            line = draw(_field_name).encode() + b":" + value.encode()
        else:
            name = draw(st.sampled_from(_WANTED))
            sent, expected = draw(_wanted_value(name))
            wanted.setdefault(name, []).append(expected)
            spelled = "".join(c.upper() if draw(st.booleans()) else c.lower() for c in name)
            head = spelled + draw(st.sampled_from(["", " "])) + ":" + draw(st.sampled_from(["", " ", "  ", "\t"]))
            line = _fold((head + sent).encode(), len(head), draw(st.lists(st.integers(0, 99), max_size=3)), end)
        lines.append((line, end))
    last_end = lines[-1][1] if lines else b"\r\n"
    body = draw(st.sampled_from([b"", b"Subject: in the body\r\nFrom: nobody\r\n", b"\x00\xff body"]))
    bom = draw(st.booleans())
    raw = (BYTE_ORDER_MARK if bom else b"") + b"".join(line + end for line, end in lines) + last_end + body
    return raw, wanted, bom


def _expected_single(wanted: dict[str, list[object]], name: str, missing: object) -> object:
    return wanted[name][0] if name in wanted else missing


@given(_header_blocks())
def test_every_wanted_header_there_is_found_whole(block):
    raw, wanted, bom = block
    parsed = parse_headers(raw)
    assert parsed.subject == _expected_single(wanted, "Subject", "")
    assert parsed.from_address == _expected_single(wanted, "From", "")
    assert parsed.message_id == _expected_single(wanted, "Message-ID", "")
    assert parsed.date == _expected_single(wanted, "Date", None)
    recipients = [text for name in ("To", "Cc") for text in wanted.get(name, []) if text]
    assert parsed.to_addresses == ", ".join(recipients)  # type: ignore[arg-type]
    for name in ("Subject", "From", "Date", "Message-ID"):
        assert (f"several {name} headers" in parsed.problems) == (len(wanted.get(name, [])) > 1)
    assert ("byte-order mark before the headers, dropped" in parsed.problems) == bom


_FRAGMENTS = (
    b"Subject:|From:|To:|Cc:|Date:|Message-ID:|\r|\n|\r\n| |\t|\x00|<|>|=?|?=|?B?|?Q?|utf-8|utf-7|\xef\xbb\xbf|\xff"
)
_DATES = [b"31 Dec 9999 23:59:59 -1200", b"31 Dec 9999 23:59:59 +1400", b"1 Jan 100 00:00 +1400", b"1 Jan 2026 +9959"]
_fragments = st.sampled_from(_FRAGMENTS.split(b"|") + _DATES)


def _assert_storable(parsed) -> None:
    for text in (parsed.message_id, parsed.from_address, parsed.to_addresses, parsed.subject):
        assert "\x00" not in text and len(text) <= 100_000
        text.encode("utf-8")  # no unpaired surrogates


@given(st.one_of(st.binary(max_size=2000), st.lists(st.one_of(_fragments, st.binary(max_size=8))).map(b"".join)))
def test_parse_headers_never_raises_and_returns_storable_text(raw):
    _assert_storable(parse_headers(raw))


@given(st.sampled_from(sorted(set(encodings.aliases.aliases.values()))), st.binary(max_size=20), st.sampled_from("BQ"))
def test_an_encoded_word_in_any_python_codec_never_raises(charset, data, encoding):
    word = f"=?{charset}?{encoding}?{base64.b64encode(data).decode() if encoding == 'B' else data.hex()}?="
    _assert_storable(parse_headers(b"Subject: " + word.encode() + b"\r\n\r\n"))


@given(
    st.one_of(st.sampled_from([1, 99, 100, 9999, 10_000]), st.integers(1, 10_050)),
    st.one_of(st.sampled_from([1, 12]), st.integers(1, 12)),
    st.one_of(st.sampled_from([1, 31]), st.integers(1, 31)),
    st.one_of(st.sampled_from([0, 23]), st.integers(0, 23)),
    st.one_of(st.sampled_from([-2359, -1200, 0, 1400, 2359]), st.integers(-2399, 2399)),
)
def test_any_date_is_kept_only_where_every_time_zone_can_show_it(year, month, day, hour, offset):
    header = f"Date: {day} {datetime(2000, month, 1):%b} {year:04} {hour:02}:59:59 {offset:+05}".encode()
    parsed = parse_headers(_message(b"Message-ID: <a@x>", header))
    if parsed.date is None:
        assert parsed.problems in (["unreadable Date"], ["Date out of range"])
        return
    assert parsed.problems == []
    for zone in ("Pacific/Kiritimati", "Etc/GMT+12", "UTC"):
        parsed.date.astimezone(ZoneInfo(zone)) + timedelta(days=1)
        parsed.date.astimezone(ZoneInfo(zone)) - timedelta(days=1)


_LINE_PIECES = st.sampled_from(
    [b"\r\n", b"\r", b"\n", b"\r\n\r\n", b"\n\r", b" ", b"\t", b"From: a", b"Subject: s", b"x"]
)


@given(st.lists(_LINE_PIECES, max_size=30).map(b"".join))
def test_the_plain_search_for_a_crlf_header_block_finds_the_block_the_general_reading_finds(raw):
    block = _crlf_header_block(raw)
    assert block is None or block == _header_block(raw, [])
    if raw.startswith(b"Subject: s\r\n") and b"\r\n\r\n" in raw and b"\n\r\n" not in raw.split(b"\r\n\r\n")[0]:
        pure = raw.split(b"\r\n\r\n")[0]
        if pure.count(b"\r") == pure.count(b"\n") == pure.count(b"\r\n"):
            assert block == pure  # the usual message does take the plain way
