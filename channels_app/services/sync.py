"""Importing a mailbox's messages above the channel's cursor, batch by batch.

The cursor is the server's own identity for messages: UIDVALIDITY and the
highest UID imported, so normal sync and backfill both fetch "everything above
the cursor" and close any gap by construction. Each batch's messages and the
advanced cursor commit together, and only while this worker still holds the
channel's lease: a worker killed at any point leaves whole batches or nothing.
"""

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Max
from django.db.models.functions import Greatest, Least
from django.utils import timezone
from imapclient import IMAPClient

from channels_app.models import Backfill, Channel, Message
from channels_app.services.health import LeaseLost, extend_lease
from channels_app.services.parsing import date_in_range, parse_headers


@dataclass
class SyncOutcome:
    imported: int = 0


class MessageRow(NamedTuple):
    """One imported message, as the columns written. A plain tuple, not a model instance:
    building and compiling thousands of model instances cost more than fetching them."""

    uid: int
    message_id: str
    from_address: str
    to_addresses: str
    subject: str
    date: datetime | None
    size: int
    digest: str
    raw: bytes
    parse_problems: str


def message_row(uid: int, raw: bytes) -> MessageRow:
    headers = parse_headers(raw)
    return MessageRow(
        uid,
        headers.message_id,
        headers.from_address,
        headers.to_addresses,
        headers.subject,
        headers.date,
        len(raw),
        hashlib.sha256(raw).hexdigest(),
        raw,
        "; ".join(headers.problems)[:500],
    )


def _datetime_adapter() -> Callable[[datetime | None], object]:
    """How a date is written, never raising: a date the parser would not keep is written as no date,
    since one that cannot be converted would fail its batch, and so every later sync of the channel.
    SQLite stores naive UTC text, as Django's own adapter would produce it; this shortcut skips its
    per-value checks, a tenth of the insert cost."""
    if connection.vendor != "sqlite":
        adapt = connection.ops.adapt_datetimefield_value
        return lambda value: adapt(None if value is None else date_in_range(value))

    def to_text(value: datetime | None) -> str | None:
        value = None if value is None else date_in_range(value)
        return None if value is None else str(value.astimezone(UTC).replace(tzinfo=None))

    return to_text


_COLUMNS = (
    "channel_id, uidvalidity, uid, message_id, from_address, to_addresses, subject, date, size, digest, raw, "
    "parse_problems, imported_at"
)


def _insert(channel: Channel, uidvalidity: int, rows: list[MessageRow]) -> None:
    """INSERT … ON CONFLICT DO NOTHING (SQLite and PostgreSQL alike): a message already imported,
    e.g. by a run that raced this one, is skipped rather than doubled."""
    if not rows:
        return
    table = connection.ops.quote_name(Message._meta.db_table)
    placeholders = ", ".join(["%s"] * 13)
    adapt = _datetime_adapter()
    now = adapt(timezone.now())
    params: list[tuple[Any, ...]] = [
        (
            channel.pk,
            uidvalidity,
            r.uid,
            r.message_id,
            r.from_address,
            r.to_addresses,
            r.subject,
            adapt(r.date),
            r.size,
            r.digest,
            r.raw,
            r.parse_problems,
            now,
        )
        for r in rows
    ]
    with connection.cursor() as cursor:
        cursor.executemany(f"INSERT INTO {table} ({_COLUMNS}) VALUES ({placeholders}) ON CONFLICT DO NOTHING", params)  # noqa: S608


def _sizes(client: IMAPClient, uids: list[int], *, threshold: int) -> dict[int, int]:
    """An upper bound of each message's size, for byte-bounded batches.

    Asking every message's size costs as much as fetching a third of it, so
    only messages LARGER than `threshold` (few) get their exact size; the rest
    count as `threshold`.
    """
    if not uids:
        return {}
    wanted = set(uids)
    large = sorted(uid for uid in client.search(["LARGER", threshold]) if uid in wanted)
    exact: dict[int, int] = {}
    for start in range(0, len(large), 1000):  # servers limit how long one command may be
        fetched = client.fetch(large[start : start + 1000], ["RFC822.SIZE"])
        exact.update((uid, int(data[b"RFC822.SIZE"])) for uid, data in fetched.items())
    return {uid: exact.get(uid, threshold) for uid in uids}


def batches(sizes: dict[int, int], *, count: int, budget: int) -> Iterator[list[int]]:
    """UIDs in order, in batches of at most `count` messages and about `budget` bytes.

    The byte budget keeps memory flat however large the messages: a 20 MB
    message travels alone rather than with 499 others.
    """
    batch: list[int] = []
    used = 0
    for uid in sorted(sizes):
        if batch and (len(batch) >= count or used + sizes[uid] > budget):
            yield batch
            batch, used = [], 0
        batch.append(uid)
        used += sizes[uid]
    if batch:
        yield batch


def _store_batch(
    channel: Channel, rows: list[MessageRow], *, uidvalidity: int, last_uid: int, backfill: Backfill | None
) -> None:
    dates = [row.date for row in rows if row.date]
    with transaction.atomic():
        # The cursor moves only while we hold the lease; otherwise nothing of this batch is kept.
        moved = Channel.objects.filter(pk=channel.pk, lease_owner=channel.lease_owner).update(
            uidvalidity=uidvalidity, last_uid=last_uid, last_synced_at=timezone.now()
        )
        if not moved:
            raise LeaseLost(channel.address)
        _insert(channel, uidvalidity, rows)
        if backfill is not None and rows:
            progress: dict[str, object] = {"imported": F("imported") + len(rows)}
            if dates:
                earliest, latest = min(dates), max(dates)
                progress["earliest_message_at"] = Least(F("earliest_message_at"), earliest)
                progress["latest_message_at"] = Greatest(F("latest_message_at"), latest)
                # Least/Greatest of NULL and a date is NULL on SQLite: seed them first.
                Backfill.objects.filter(pk=backfill.pk, earliest_message_at__isnull=True).update(
                    earliest_message_at=earliest, latest_message_at=latest
                )
            Backfill.objects.filter(pk=backfill.pk).update(**progress)
    channel.uidvalidity, channel.last_uid = uidvalidity, last_uid


def _known_keys(channel: Channel, since: datetime | None) -> tuple[set[str], set[str]]:
    """Message-IDs and (for messages without one) digests already imported near and after `since`."""
    rows = Message.objects.filter(channel=channel)
    if since is not None:
        rows = rows.filter(date__gte=since - timedelta(days=1)) | rows.filter(date__isnull=True)
    ids, digests = set(), set()
    for message_id, digest in rows.values_list("message_id", "digest").iterator():
        if message_id:
            ids.add(message_id)
        else:
            digests.add(digest)
    return ids, digests


def _reconcile_uids(channel: Channel, client: IMAPClient) -> tuple[list[int], datetime | None]:
    """After a renumbering: the UIDs that may hold messages we have not imported yet.

    Everything up to our newest message (less a safety margin) was imported
    under the old numbering; only messages from then on need comparing.
    """
    newest = Message.objects.filter(channel=channel).aggregate(newest=Max("date"))["newest"]
    if newest is None:
        return list(client.search(["ALL"])), None
    since = newest - timedelta(hours=settings.RECONCILE_MARGIN_HOURS)
    return list(client.search(["SINCE", since.date()])), since


def import_new_messages(channel: Channel, client: IMAPClient, *, backfill: Backfill | None = None) -> SyncOutcome:
    outcome = SyncOutcome()
    folder = client.select_folder("INBOX", readonly=True)
    uidvalidity = int(folder[b"UIDVALIDITY"])
    known: tuple[set[str], set[str]] | None = None
    if channel.uidvalidity is not None and channel.uidvalidity != uidvalidity:
        # The server renumbered the mailbox: old UIDs mean nothing, reconcile by identity instead.
        candidates, since = _reconcile_uids(channel, client)
        known = _known_keys(channel, since)
    else:
        # "N:*" always matches the highest UID, even when it is below N: filter.
        candidates = [uid for uid in client.search(["UID", f"{channel.last_uid + 1}:*"]) if uid > channel.last_uid]
    sizes = _sizes(client, sorted(candidates), threshold=settings.SYNC_BATCH_BYTES // settings.SYNC_BATCH_SIZE)
    if backfill is not None:
        Backfill.objects.filter(pk=backfill.pk).update(total=F("imported") + len(sizes))
    last_uid = channel.last_uid if known is None else 0
    for batch in batches(sizes, count=settings.SYNC_BATCH_SIZE, budget=settings.SYNC_BATCH_BYTES):
        fetched = client.fetch(batch, ["BODY.PEEK[]"])
        rows = [message_row(uid, fetched[uid][b"BODY[]"]) for uid in batch if uid in fetched]
        del fetched
        if known is not None:
            ids, digests = known
            rows = [r for r in rows if not (r.message_id in ids if r.message_id else r.digest in digests)]
        last_uid = max(last_uid, batch[-1])
        _store_batch(channel, rows, uidvalidity=uidvalidity, last_uid=last_uid, backfill=backfill)
        outcome.imported += len(rows)
        if not extend_lease(channel.pk, channel.lease_owner, seconds=settings.CHANNEL_LEASE_SECONDS):
            raise LeaseLost(channel.address)
    if known is not None:
        # Everything below UIDNEXT was either compared above or is older than our newest message.
        last_uid = max(last_uid, int(folder[b"UIDNEXT"]) - 1)
    if not sizes or known is not None:
        _store_batch(channel, [], uidvalidity=uidvalidity, last_uid=last_uid, backfill=None)
    return outcome
