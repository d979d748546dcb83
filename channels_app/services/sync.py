"""Importing a mailbox folder by folder, each message exactly once whatever the mailbox does.

Each folder we read (services/folders.py) has its own cursor: the server's UIDVALIDITY for it and
the highest UID dealt with. A sync fetches the UIDs above the cursor that arrived since the
channel's `import_since`. A message is stored once per `identity` (services/identity.py): seen
again in another folder (moved) or under a new number it is moved in place, not stored twice.

A renumbered folder (new UIDVALIDITY), or a folder seen for the first time while the channel
already has mail, is reconciled over the whole folder: cheap facts first (size and header key, or
Gmail's message id), so what is already stored is recognised without downloading it; only the rest
is downloaded. Arrival times (INTERNALDATE) decide what is new, never Date headers.

Each batch's messages and the advanced cursor commit together, only while this worker still holds
the channel's lease, which every step renews: a worker killed at any point leaves whole batches or
nothing, and the next sync continues at the cursor.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from imapclient import IMAPClient

from channels_app import metrics
from channels_app.models import Backfill, Channel, MailFolder, Message
from channels_app.providers import get_provider
from channels_app.services.budget import budget_take, next_reset
from channels_app.services.folders import folders_to_sync
from channels_app.services.identity import (
    FACTS_ITEM,
    digest_identity,
    gmail_identity,
    header_key,
    message_header_key,
)
from channels_app.services.lease import LeaseLost, renew_or_stop
from channels_app.services.parsing import date_in_range, parse_headers

FACTS_CHUNK = 500


@dataclass
class SyncOutcome:
    imported: int = 0
    # Stored messages found somewhere else (moved, renumbered): moved in place, not imported again.
    relocated: int = 0
    # Set when the daily download budget ran out: the import continues after it.
    paused_until: datetime | None = None
    # The arrival times of the messages stored, kept only when asked for (a push-triggered sync's latency).
    arrivals: list[datetime] | None = None


class MessageRow(NamedTuple):
    """One imported message, as the columns written. A plain tuple, not a model instance:
    building and compiling thousands of model instances cost more than fetching them."""

    uid: int
    identity: str
    header_key: str
    internal_date: datetime | None
    message_id: str
    from_address: str
    to_addresses: str
    subject: str
    date: datetime | None
    size: int
    digest: str
    raw: bytes
    parse_problems: str


def message_row(
    uid: int, raw: bytes, *, internal_date: datetime | None = None, gm_msgid: int | None = None
) -> MessageRow:
    headers = parse_headers(raw)
    digest = digest_identity(raw)
    return MessageRow(
        uid,
        gmail_identity(gm_msgid) if gm_msgid else digest,
        message_header_key(raw, headers.crlf_fields),
        internal_date,
        headers.message_id,
        headers.from_address,
        headers.to_addresses,
        headers.subject,
        headers.date,
        len(raw),
        digest,
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

        def to_value(value: datetime | None) -> object:
            value = None if value is None else date_in_range(value)
            # A naive time is UTC, as the connection's time zone would read it; COPY takes only aware ones.
            return adapt(value if value is None or value.tzinfo else value.replace(tzinfo=UTC))

        return to_value

    def to_text(value: datetime | None) -> str | None:
        value = None if value is None else date_in_range(value)
        return None if value is None else str(value.astimezone(UTC).replace(tzinfo=None))

    return to_text


_COLUMNS = (
    "channel_id, folder_id, uidvalidity, uid, identity, header_key, internal_date, message_id, from_address, "
    "to_addresses, subject, date, size, digest, raw, parse_problems, imported_at"
)


# The columns' types in COPY's binary format, in _COLUMNS' order.
_COPY_TYPES = [
    "int8", "int8", "int8", "int8", "varchar", "varchar", "timestamptz", "text", "text", "text", "text",
    "timestamptz", "int4", "varchar", "bytea", "varchar", "timestamptz",
]  # fmt: skip


def _copied(table: str, params: list[tuple[Any, ...]]) -> bool:
    """PostgreSQL: the batch written by one binary COPY, whether it went in. No statement per row and no
    escaping of the raw bytes: the backfill runs about twice as fast (bench/RESULTS.md). COPY has no
    ON CONFLICT: a message stored meanwhile fails it, and then nothing of it is kept (a savepoint)."""
    try:
        with transaction.atomic(), connection.cursor() as cursor, connection.wrap_database_errors:
            sql = f"COPY {table} ({_COLUMNS}) FROM STDIN (FORMAT BINARY)"
            with cursor.cursor.copy(sql) as copy:
                copy.set_types(_COPY_TYPES)
                for row in params:
                    copy.write_row(row)
    except IntegrityError:
        return False
    return True


def _insert(channel: Channel, folder: MailFolder, uidvalidity: int, rows: list[MessageRow]) -> None:
    """INSERT … ON CONFLICT DO NOTHING (SQLite and PostgreSQL alike): a message stored meanwhile,
    e.g. by a run that raced this one, is skipped rather than doubled. On PostgreSQL a COPY first,
    and the INSERT only when the COPY met such a message."""
    if not rows:
        return
    table = connection.ops.quote_name(Message._meta.db_table)
    placeholders = ", ".join(["%s"] * 17)
    adapt = _datetime_adapter()
    now = adapt(timezone.now())
    params: list[tuple[Any, ...]] = [
        (
            channel.pk,
            folder.pk,
            uidvalidity,
            r.uid,
            r.identity,
            r.header_key,
            adapt(r.internal_date),
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
    if connection.vendor == "postgresql" and _copied(table, params):
        return
    with connection.cursor() as cursor:
        cursor.executemany(f"INSERT INTO {table} ({_COLUMNS}) VALUES ({placeholders}) ON CONFLICT DO NOTHING", params)  # noqa: S608


def _relocate(
    channel: Channel, folder: MailFolder, uidvalidity: int, found: list[tuple[str, int, datetime | None]]
) -> None:
    """Stored messages found at (folder, uid): that is where they are now; one row each still."""
    if not found:
        return
    table = connection.ops.quote_name(Message._meta.db_table)
    adapt = _datetime_adapter()
    params: list[tuple[Any, ...]] = [
        (folder.pk, uidvalidity, uid, adapt(arrived), channel.pk, identity) for identity, uid, arrived in found
    ]
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {table} SET folder_id = %s, uidvalidity = %s, uid = %s, "  # noqa: S608
            "internal_date = COALESCE(internal_date, %s) WHERE channel_id = %s AND identity = %s",
            params,
        )


def _claim(channel: Channel) -> None:
    """Writes happen only while this worker holds the lease; otherwise nothing of the batch is kept."""
    moved = Channel.objects.filter(pk=channel.pk, lease_owner=channel.lease_owner).update(last_synced_at=timezone.now())
    if not moved:
        raise LeaseLost(channel.address)


def _store_batch(
    channel: Channel,
    folder: MailFolder,
    rows: list[MessageRow],
    *,
    uidvalidity: int,
    last_uid: int,
    backfill: Backfill | None,
) -> tuple[list[MessageRow], int]:
    """Store a batch and advance the folder's cursor in one transaction; (the rows imported, how many relocated)."""
    with transaction.atomic():
        _claim(channel)
        MailFolder.objects.filter(pk=folder.pk).update(uidvalidity=uidvalidity, last_uid=last_uid)
        stored = set(
            Message.objects.filter(channel=channel, identity__in=[r.identity for r in rows]).values_list(
                "identity", flat=True
            )
        )
        new: dict[str, MessageRow] = {}
        for row in rows:
            if row.identity not in stored:
                new.setdefault(row.identity, row)  # the same message twice in one folder: once
        _insert(channel, folder, uidvalidity, list(new.values()))
        _relocate(
            channel, folder, uidvalidity, [(r.identity, r.uid, r.internal_date) for r in rows if r.identity in stored]
        )
        if backfill is not None and rows:
            Backfill.objects.filter(pk=backfill.pk).update(
                imported=F("imported") + len(new),
                imported_bytes=F("imported_bytes") + sum(r.size for r in rows),
                progressed_at=timezone.now(),
            )
    folder.uidvalidity, folder.last_uid = uidvalidity, last_uid
    return list(new.values()), len(rows) - len(new)


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


@dataclass
class FolderPlan:
    folder: MailFolder
    uidvalidity: int
    uidnext: int
    candidates: list[int]
    # Renumbered, or seen for the first time while the channel has mail: compare facts first.
    reconcile: bool
    known: set[int] = field(default_factory=set)


def _arrived_since(channel: Channel) -> list[Any]:
    # IMAP's SINCE compares arrival dates (RFC 3501 6.4.4: the internal date), by day.
    return ["SINCE", channel.import_since.date()] if channel.import_since else []


def _plan(channel: Channel, client: IMAPClient, folder: MailFolder, *, has_mail: bool) -> FolderPlan:
    status = client.select_folder(folder.name, readonly=True)
    uidvalidity = int(status[b"UIDVALIDITY"])
    uidnext = int(status.get(b"UIDNEXT") or 0)
    renumbered = folder.uidvalidity is not None and folder.uidvalidity != uidvalidity
    first_look = folder.uidvalidity is None
    start = 1 if (renumbered or first_look) else folder.last_uid + 1
    # "N:*" always matches the highest UID, even when it is below N: filter.
    found = client.search(["UID", f"{start}:*", *_arrived_since(channel)])
    candidates = sorted(uid for uid in found if uid >= start)
    return FolderPlan(folder, uidvalidity, uidnext, candidates, reconcile=renumbered or (first_look and has_mail))


def _facts(client: IMAPClient, uids: list[int], *, gmail_ids: bool) -> dict[int, dict[bytes, Any]]:
    items = ["RFC822.SIZE", "INTERNALDATE", FACTS_ITEM] + (["X-GM-MSGID"] if gmail_ids else [])
    return client.fetch(uids, items)


def _header_fields(data: dict[bytes, Any]) -> bytes:
    value = next((v for k, v in data.items() if k.startswith(b"BODY[HEADER.FIELDS")), b"")
    return value or b""


def _reconcile(channel: Channel, client: IMAPClient, plan: FolderPlan, *, gmail_ids: bool) -> None:
    """Find which candidates are messages we already store, without downloading them, and move
    those in place; then the folder's cursor starts over under its new numbering."""
    claimed: set[str] = set()
    for start in range(0, len(plan.candidates), FACTS_CHUNK):
        chunk = plan.candidates[start : start + FACTS_CHUNK]
        facts = _facts(client, chunk, gmail_ids=gmail_ids)
        found: list[tuple[str, int, datetime | None]] = []
        if gmail_ids:
            ids = {uid: gmail_identity(int(data[b"X-GM-MSGID"])) for uid, data in facts.items()}
            stored = set(
                Message.objects.filter(channel=channel, identity__in=ids.values()).values_list("identity", flat=True)
            )
            found = [(ids[uid], uid, facts[uid].get(b"INTERNALDATE")) for uid in chunk if ids.get(uid) in stored]
        else:
            keys = {uid: (header_key(_header_fields(data)), int(data[b"RFC822.SIZE"])) for uid, data in facts.items()}
            by_key: dict[tuple[str, int], list[str]] = {}
            rows = Message.objects.filter(channel=channel, header_key__in={key for key, _ in keys.values()})
            for identity, key, size in rows.values_list("identity", "header_key", "size"):
                by_key.setdefault((key, size), []).append(identity)
            for uid in chunk:
                matches = [identity for identity in by_key.get(keys.get(uid, ("", -1)), []) if identity not in claimed]
                # Exactly one stored message with these facts: it. Several (or a twin on the server):
                # download and let the content decide.
                if len(matches) == 1 and len(by_key[keys[uid]]) == 1:
                    claimed.add(matches[0])
                    found.append((matches[0], uid, facts[uid].get(b"INTERNALDATE")))
        with transaction.atomic():
            _claim(channel)
            _relocate(channel, plan.folder, plan.uidvalidity, found)
        plan.known.update(uid for _identity, uid, _arrived in found)
        renew_or_stop(channel)
    placed = max(plan.known, default=0)
    with transaction.atomic():
        _claim(channel)
        MailFolder.objects.filter(pk=plan.folder.pk).update(
            uidvalidity=plan.uidvalidity, last_uid=0, reconciled_up_to=placed
        )
    plan.folder.uidvalidity, plan.folder.last_uid, plan.folder.reconciled_up_to = plan.uidvalidity, 0, placed


def _already_here(plan: FolderPlan, uids: list[int]) -> set[int]:
    """UIDs of this folder already stored at exactly this place (by a batch that committed before a
    crash, or by reconciliation): nothing to download."""
    here: set[int] = set()
    for start in range(0, len(uids), 1000):
        chunk = uids[start : start + 1000]
        here.update(
            Message.objects.filter(folder=plan.folder, uidvalidity=plan.uidvalidity, uid__in=chunk).values_list(
                "uid", flat=True
            )
        )
    return here


def _import_folder(
    channel: Channel,
    client: IMAPClient,
    plan: FolderPlan,
    *,
    gmail_ids: bool,
    backfill: Backfill | None,
    outcome: SyncOutcome,
) -> None:
    client.select_folder(plan.folder.name, readonly=True)
    if plan.reconcile:
        _reconcile(channel, client, plan, gmail_ids=gmail_ids)
        outcome.relocated += len(plan.known)
        if backfill is not None and plan.known:
            Backfill.objects.filter(pk=backfill.pk).update(total=F("total") - len(plan.known))
    wanted = [uid for uid in plan.candidates if uid not in plan.known]
    if plan.folder.last_uid < plan.folder.reconciled_up_to:
        # Reconciliation (now, or in a run that died since) placed stored messages above the cursor:
        # those need no download. Elsewhere above a cursor nothing can be stored yet.
        here = _already_here(plan, wanted)
        wanted = [uid for uid in wanted if uid not in here]
    sizes = _sizes(client, wanted, threshold=settings.SYNC_BATCH_BYTES // settings.SYNC_BATCH_SIZE)
    if backfill is not None and sizes:
        Backfill.objects.filter(pk=backfill.pk).update(total_bytes=F("total_bytes") + sum(sizes.values()))
    items = ["BODY.PEEK[]", "INTERNALDATE"] + (["X-GM-MSGID"] if gmail_ids else [])
    last_uid = plan.folder.last_uid
    for batch in batches(sizes, count=settings.SYNC_BATCH_SIZE, budget=settings.SYNC_BATCH_BYTES):
        if not budget_take(channel, sum(sizes[uid] for uid in batch)):
            outcome.paused_until = next_reset()
            return
        fetched = client.fetch(batch, items)
        rows = [
            message_row(
                uid,
                fetched[uid][b"BODY[]"],
                internal_date=fetched[uid].get(b"INTERNALDATE"),
                gm_msgid=fetched[uid].get(b"X-GM-MSGID"),
            )
            for uid in batch
            if uid in fetched
        ]
        del fetched
        last_uid = max(last_uid, batch[-1])
        imported, relocated = _store_batch(
            channel, plan.folder, rows, uidvalidity=plan.uidvalidity, last_uid=last_uid, backfill=backfill
        )
        outcome.imported += len(imported)
        outcome.relocated += relocated
        metrics.messages_imported(channel.provider, backfill=backfill is not None, count=len(imported))
        if outcome.arrivals is not None:
            outcome.arrivals.extend(row.internal_date for row in imported if row.internal_date is not None)
        renew_or_stop(channel)
    # Everything below UIDNEXT was either fetched above or arrived before `import_since`.
    final = max(last_uid, plan.uidnext - 1)
    if final != plan.folder.last_uid or plan.folder.uidvalidity != plan.uidvalidity:
        _store_batch(channel, plan.folder, [], uidvalidity=plan.uidvalidity, last_uid=final, backfill=None)


def import_new_messages(
    channel: Channel, client: IMAPClient, *, backfill: Backfill | None = None, keep_arrivals: bool = False
) -> SyncOutcome:
    """Import what is new in every folder we read; stops early (and says until when) when the daily
    download budget is used up. `keep_arrivals`: the outcome lists the stored messages' arrival times."""
    outcome = SyncOutcome(arrivals=[] if keep_arrivals else None)
    client.normalise_times = False  # INTERNALDATE as sent, with its offset
    provider = get_provider(channel.provider)
    gmail_ids = b"X-GM-EXT-1" in client.capabilities()
    has_mail = Message.objects.filter(channel=channel).exists()
    plans = []
    for info in folders_to_sync(client, all_mail_only=provider.sync_all_mail_only):
        folder, _ = MailFolder.objects.get_or_create(
            channel=channel, name=info.name, defaults={"special_use": info.special_use}
        )
        plans.append(_plan(channel, client, folder, has_mail=has_mail))
        renew_or_stop(channel)
    if backfill is not None:
        Backfill.objects.filter(pk=backfill.pk).update(total=F("imported") + sum(len(p.candidates) for p in plans))
    for plan in plans:
        _import_folder(channel, client, plan, gmail_ids=gmail_ids, backfill=backfill, outcome=outcome)
        if outcome.paused_until:
            break
    return outcome
