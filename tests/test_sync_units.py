"""Pure parts of the importer: UID sets, byte-bounded batches, header parsing."""

from channels_app.services.parsing import parse_headers
from channels_app.services.sync import batches


def test_batches_respect_count_and_bytes_and_keep_order():
    sizes = {uid: 10 for uid in range(1, 8)} | {8: 1000, 9: 10}
    assert list(batches(sizes, count=3, budget=100)) == [[1, 2, 3], [4, 5, 6], [7], [8], [9]]


def test_headers_are_parsed_and_folded_lines_joined():
    raw = (
        b"From: =?utf-8?q?J=C3=BCrgen?= <j@example.test>\r\nTo: a@x.test,\r\n b@x.test\r\nCc: c@x.test\r\n"
        b"Subject: Hello\r\n world\r\nMessage-ID: <id-1@x>\r\nDate: Mon, 30 Nov 2026 10:00:00 +0100\r\n\r\nbody"
    )
    parsed = parse_headers(raw)
    assert parsed.from_address == "Jürgen <j@example.test>"
    assert parsed.to_addresses == "a@x.test, b@x.test, c@x.test"
    assert (parsed.subject, parsed.message_id, parsed.problems) == ("Hello world", "id-1@x", [])
    assert parsed.date.isoformat() == "2026-11-30T10:00:00+01:00"


def test_header_names_in_the_body_are_not_read():
    parsed = parse_headers(b"Subject: real\r\n\r\nSubject: fake\r\nMessage-ID: <fake@x>\r\n")
    assert parsed.subject == "real" and parsed.message_id == ""
    assert parsed.problems == ["missing Message-ID", "missing Date"]
