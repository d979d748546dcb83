"""Which message a message is: the same bytes, wherever they are, and cheap facts that match the stored ones."""

from hypothesis import given
from hypothesis import strategies as st

from channels_app.services.identity import digest_identity, gmail_identity, header_block, header_key, key_fields

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
