"""Importing a mailbox's messages above the channel's cursor, batch by batch.

The cursor is the server's own identity for messages: UIDVALIDITY and the
highest UID imported. Each batch's messages and the advanced cursor commit
together, and only while this worker still holds the channel's lease, so a
worker killed at any point leaves either a whole batch or nothing.
"""

import email.utils
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.header import decode_header, make_header
from email.message import Message as EmailMessage
from email.parser import BytesHeaderParser

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from imapclient import IMAPClient

from channels_app.models import Channel, Message
from channels_app.services.health import LeaseLost, extend_lease
from channels_app.services.mailbox import channel_mailbox

_headers = BytesHeaderParser()


@dataclass
class SyncOutcome:
    imported: int = 0
    uidvalidity_changed: bool = False


def _text(value: object, limit: int = 998) -> str:
    """A header as readable text, whatever its encoding; malformed headers never raise."""
    if value is None:
        return ""
    try:
        text = str(make_header(decode_header(str(value))))
    except (LookupError, UnicodeError, ValueError, TypeError):
        text = str(value)
    return " ".join(text.split())[:limit]


def _date(message: EmailMessage) -> datetime | None:
    raw = message.get("Date")
    if not raw:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(str(raw))
    except (TypeError, ValueError, IndexError):
        return None
    if parsed is None:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_message(channel: Channel, uidvalidity: int, uid: int, raw: bytes) -> Message:
    headers = _headers.parsebytes(raw)
    return Message(
        channel=channel,
        uidvalidity=uidvalidity,
        uid=uid,
        message_id=_text(headers.get("Message-ID")).strip("<>")[:998],
        from_address=_text(headers.get("From")),
        subject=_text(headers.get("Subject")),
        date=_date(headers),
        size=len(raw),
    )


def _batches(uids: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(uids), size):
        yield uids[start : start + size]


def _store_batch(channel: Channel, uidvalidity: int, messages: Iterable[Message], last_uid: int) -> int:
    rows = list(messages)
    with transaction.atomic():
        # The cursor moves only while we hold the lease; otherwise nothing of this batch is kept.
        moved = Channel.objects.filter(pk=channel.pk, lease_owner=channel.lease_owner).update(
            uidvalidity=uidvalidity, last_uid=last_uid, last_synced_at=timezone.now()
        )
        if not moved:
            raise LeaseLost(channel.address)
        Message.objects.bulk_create(rows, ignore_conflicts=True)
    channel.uidvalidity, channel.last_uid = uidvalidity, last_uid
    return len(rows)


def import_new_messages(channel: Channel, client: IMAPClient) -> SyncOutcome:
    outcome = SyncOutcome()
    folder = client.select_folder("INBOX", readonly=True)
    uidvalidity = int(folder[b"UIDVALIDITY"])
    if channel.uidvalidity is not None and channel.uidvalidity != uidvalidity:
        # The server renumbered the mailbox: our UIDs mean nothing any more.
        outcome.uidvalidity_changed = True
        channel.last_uid = 0
    # "N:*" always matches the highest UID, even when it is below N: filter.
    uids = sorted(uid for uid in client.search(["UID", f"{channel.last_uid + 1}:*"]) if uid > channel.last_uid)
    for batch in _batches(uids, settings.SYNC_BATCH_SIZE):
        fetched = client.fetch(batch, ["BODY.PEEK[]"])
        messages = (
            parse_message(channel, uidvalidity, uid, fetched[uid][b"BODY[]"]) for uid in batch if uid in fetched
        )
        outcome.imported += _store_batch(channel, uidvalidity, messages, batch[-1])
        if not extend_lease(channel.pk, channel.lease_owner, seconds=settings.CHANNEL_LEASE_SECONDS):
            raise LeaseLost(channel.address)
    if not uids:
        Channel.objects.filter(pk=channel.pk, lease_owner=channel.lease_owner).update(
            uidvalidity=uidvalidity, last_uid=channel.last_uid, last_synced_at=timezone.now()
        )
    return outcome


def sync(channel: Channel) -> str:
    with channel_mailbox(channel) as client:
        outcome = import_new_messages(channel, client)
    return f"imported {outcome.imported} new message(s)"
