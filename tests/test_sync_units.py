"""Parts of the importer: UID sets and byte-bounded batches, dates and the batch insert (header parsing:
test_parsing.py)."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.db import connection

from channels_app.models import MailFolder, Message
from channels_app.services.sync import _datetime_adapter, _insert, batches, message_row


def test_batches_respect_count_and_bytes_and_keep_order():
    sizes = {uid: 10 for uid in range(1, 8)} | {8: 1000, 9: 10}
    assert list(batches(sizes, count=3, budget=100)) == [[1, 2, 3], [4, 5, 6], [7], [8], [9]]


@pytest.mark.parametrize("vendor", ["sqlite", "postgresql"])
def test_the_date_adapter_never_raises_and_writes_no_date_where_the_parser_keeps_none(vendor, monkeypatch):
    monkeypatch.setattr(connection, "vendor", vendor)
    adapt = _datetime_adapter()
    west = timezone(timedelta(hours=-12))
    assert adapt(datetime(9999, 12, 31, 23, 59, 59, tzinfo=west)) is None
    assert adapt(datetime(9999, 12, 31, 9, tzinfo=UTC)) is None
    assert adapt(datetime(1, 1, 1, 12, tzinfo=timezone(timedelta(hours=14)))) is None
    assert adapt(None) is None
    assert adapt(datetime(2026, 11, 30, 10, tzinfo=west)) is not None


def test_a_naive_time_is_written_as_utc_on_postgresql(monkeypatch):
    monkeypatch.setattr(connection, "vendor", "postgresql")
    monkeypatch.setattr(connection.ops, "adapt_datetimefield_value", lambda value: value)  # PostgreSQL's own
    assert _datetime_adapter()(datetime(2026, 11, 30, 10)) == datetime(2026, 11, 30, 10, tzinfo=UTC)


def _stored(channel) -> dict[str, tuple]:
    return {
        m.identity: (m.uid, m.folder_id, m.internal_date, m.date, m.subject, m.from_address, bytes(m.raw), m.size)
        for m in Message.objects.filter(channel=channel)
    }


def test_a_batch_is_stored_as_given_with_its_arrival_and_date(tenancy):
    # On PostgreSQL through COPY, on SQLite through INSERT: the same rows either way.
    channel = tenancy.shared_channel
    folder = MailFolder.objects.create(channel=channel, name="INBOX")
    east = timezone(timedelta(hours=14))
    raw = b"From: A <a@x.test>\r\nSubject: Hello\r\nDate: Mon, 30 Nov 2026 10:00:00 -1200\r\n\r\nbody \x00\xff"
    rows = [message_row(7, raw, internal_date=datetime(2026, 11, 30, 23, tzinfo=east)), message_row(8, b"\r\n")]

    _insert(channel, folder, 42, rows)

    arrived, dated = datetime(2026, 11, 30, 9, tzinfo=UTC), datetime(2026, 11, 30, 22, tzinfo=UTC)
    assert _stored(channel) == {
        rows[0].identity: (7, folder.pk, arrived, dated, "Hello", "A <a@x.test>", raw, len(raw)),
        rows[1].identity: (8, folder.pk, None, None, "", "", b"\r\n", 2),
    }


def test_a_batch_with_a_message_stored_meanwhile_keeps_that_one_and_stores_the_rest(tenancy):
    # A run that raced this one stored a message of the batch: skipped, not doubled, and not a failed batch.
    channel = tenancy.shared_channel
    folder = MailFolder.objects.create(channel=channel, name="INBOX")
    rows = [message_row(uid, f"Subject: {uid}\r\n\r\n".encode()) for uid in (1, 2, 3)]
    _insert(channel, folder, 42, [rows[1]])

    _insert(channel, folder, 43, rows)

    assert {identity: (uid, subject) for identity, (uid, _, _, _, subject, *_) in _stored(channel).items()} == {
        rows[0].identity: (1, "1"),
        rows[1].identity: (2, "2"),
        rows[2].identity: (3, "3"),
    }
    assert set(Message.objects.filter(channel=channel).values_list("uidvalidity", flat=True)) == {42, 43}
    assert Message.objects.get(identity=rows[1].identity).uidvalidity == 42
