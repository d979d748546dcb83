"""Pure parts of the importer: UID sets and byte-bounded batches (header parsing: test_parsing.py)."""

from channels_app.services.sync import batches


def test_batches_respect_count_and_bytes_and_keep_order():
    sizes = {uid: 10 for uid in range(1, 8)} | {8: 1000, 9: 10}
    assert list(batches(sizes, count=3, budget=100)) == [[1, 2, 3], [4, 5, 6], [7], [8], [9]]
