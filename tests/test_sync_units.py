"""Pure parts of the importer: UID sets and byte-bounded batches (header parsing: test_parsing.py)."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.db import connection

from channels_app.services.sync import _datetime_adapter, batches


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
