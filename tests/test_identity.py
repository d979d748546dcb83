"""Which message a message is: the same bytes, wherever they are, and cheap facts that match the stored ones."""

from hypothesis import given
from hypothesis import strategies as st

from channels_app.services.identity import (
    HEADER_READ_LIMIT,
    digest_identity,
    gmail_identity,
    header_block,
    header_key,
    key_fields,
    message_header_key,
)
from channels_app.services.parsing import BYTE_ORDER_MARK, parse_headers

RAW = (
    b"Received: from x\r\nMessage-ID: <a@b>\r\nDate: Mon, 30 Nov 2026 10:00:00 +0000\r\n"
    b"From: Ann\r\n <ann@x.test>\r\nSubject: Hello\r\n  world\r\nSubject: second\r\n\r\nbody\r\n\r\nmore\r\n"
)
# What a server answers to BODY.PEEK[HEADER.FIELDS (MESSAGE-ID DATE FROM SUBJECT)] for RAW.
SERVER_FIELDS = (
    b"Message-ID: <a@b>\r\nDate: Mon, 30 Nov 2026 10:00:00 +0000\r\nFrom: Ann\r\n <ann@x.test>\r\n"
    b"Subject: Hello\r\n  world\r\nSubject: second\r\n\r\n"
)


def test_the_stored_message_and_the_servers_header_fields_give_the_same_key():
    assert header_key(header_block(RAW)) == header_key(SERVER_FIELDS)


def test_the_first_of_repeated_fields_counts_and_folding_is_undone():
    fields = key_fields(header_block(RAW))
    assert fields[b"subject"] == b"Hello world" and fields[b"from"] == b"Ann <ann@x.test>"


def test_line_endings_do_not_change_the_key():
    keys = {header_key(header_block(RAW.replace(b"\r\n", ending))) for ending in (b"\r\n", b"\n", b"\r")}
    assert len(keys) == 1


def test_two_messages_sharing_a_message_id_have_different_keys():
    other = RAW.replace(b"Subject: Hello", b"Subject: Another")
    assert header_key(header_block(RAW)) != header_key(header_block(other))


def test_identity_is_gmails_id_or_the_content_digest():
    assert gmail_identity(1234) == "gm:1234"
    assert digest_identity(RAW) == digest_identity(bytes(RAW)) != digest_identity(RAW + b" ")


@given(st.binary(max_size=2000))
def test_any_bytes_give_a_key(raw):
    assert len(header_key(header_block(raw))) == 32


_PIECES = st.sampled_from(
    [b"\r\n", b"\r", b"\n", b" ", b"\t", b"  ", b"\x0b", b":", b"x", b"\xff", BYTE_ORDER_MARK]
    + [name + colon for name in (b"Message-ID", b"DATE", b"from", b"Subject", b"X-From") for colon in (b":", b" :")]
)


@given(st.lists(_PIECES, max_size=40).map(b"".join), st.sampled_from([b"\r\n\r\nbody", b"\r\n", b""]))
def test_the_key_taken_from_the_parsed_fields_is_the_key_of_the_header_block(head, tail):
    raw = head + tail
    assert message_header_key(raw, parse_headers(raw).crlf_fields) == header_key(header_block(raw))


def test_the_key_of_a_header_block_past_the_read_limit_is_still_the_key_of_what_is_read():
    raw = b"X-Long: " + b"a" * HEADER_READ_LIMIT + b"\r\nSubject: late\r\n\r\nbody"
    parsed = parse_headers(raw)
    assert parsed.subject == "late" and parsed.crlf_fields is None
    assert message_header_key(raw, parsed.crlf_fields) == header_key(header_block(raw))


def test_a_plain_crlf_message_has_its_key_taken_from_the_parsed_fields():
    assert parse_headers(RAW).crlf_fields is not None
    assert message_header_key(RAW, parse_headers(RAW).crlf_fields) == header_key(header_block(RAW))


def test_a_byte_order_mark_the_parse_drops_still_counts_in_the_key_as_it_always_did():
    raw = BYTE_ORDER_MARK + RAW.replace(b"Received: from x\r\n", b"")
    assert message_header_key(raw, parse_headers(raw).crlf_fields) == header_key(header_block(raw))
