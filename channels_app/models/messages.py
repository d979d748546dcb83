from django.conf import settings
from django.db import models
from django.utils import timezone

from channels_app.display import visible_controls
from channels_app.models.channels import Channel


class MailFolder(models.Model):
    """One folder of a channel's mailbox that we import from, with its own cursor: the server's
    UIDVALIDITY for it and the highest UID we have dealt with (RFC 3501, 2.3.1.1)."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="folders")
    # The mailbox name as the server lists it.
    name = models.CharField(max_length=1000)
    # RFC 6154 special use (\All, \Sent, \Archive ...), empty for ordinary folders.
    special_use = models.CharField(max_length=20, blank=True)
    uidvalidity = models.BigIntegerField(null=True, blank=True)
    last_uid = models.BigIntegerField(default=0)
    # The highest UID that reconciling a renumbering found already stored: up to it, UIDs above the
    # cursor may be stored messages (placed, not downloaded), so the import looks before fetching.
    reconciled_up_to = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["channel", "name"], name="folder_unique_per_channel")]

    def __str__(self) -> str:
        return self.name


class Message(models.Model):
    """A message imported from a channel's mailbox: one row per message, wherever it moves.

    `identity` says which message it is: Gmail's X-GM-MSGID where the server offers it, else the
    SHA-256 of its bytes, so the same message seen again (moved to another folder, renumbered by a
    restore) is recognised, and different messages that share a Message-ID are not. `folder`,
    `uidvalidity` and `uid` say where it is now.

    The raw message is kept in the database rather than in files: a backfill
    writes thousands of messages a second in batches that must commit together
    with the sync cursor, and one transaction cannot span a file store.
    """

    # No index of its own: the unique (channel, identity) index serves every lookup by channel.
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="messages", db_index=False)
    folder = models.ForeignKey(MailFolder, null=True, blank=True, on_delete=models.SET_NULL, related_name="messages")
    uidvalidity = models.BigIntegerField()
    uid = models.BigIntegerField()
    identity = models.CharField(max_length=80)
    # A digest of the first Message-ID, Date, From and Subject fields: with the size, what tells
    # messages apart before downloading them (services/identity.py).
    header_key = models.CharField(max_length=32, blank=True)
    # When the server says the message arrived (INTERNALDATE); what "missed" and "since" go by.
    internal_date = models.DateTimeField(null=True, blank=True)
    # Header values are kept whole (parsing.VALUE_LIMIT cuts only abuse): no line-length limit applies to them.
    message_id = models.TextField(blank=True)
    from_address = models.TextField(blank=True)
    to_addresses = models.TextField(blank=True)
    subject = models.TextField(blank=True)
    date = models.DateTimeField(null=True, blank=True)
    size = models.PositiveIntegerField(default=0)
    # SHA-256 of the raw bytes: identifies a message without a Message-ID when the server renumbers.
    digest = models.CharField(max_length=64, blank=True)
    raw = models.BinaryField(default=b"")
    # What could not be parsed cleanly, e.g. "missing Date; undecodable Subject"; empty when all was well.
    parse_problems = models.CharField(max_length=500, blank=True)
    imported_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-date", "-id"]
        constraints = [models.UniqueConstraint(fields=["channel", "identity"], name="message_unique_identity")]
        # Few indexes on purpose: each one is paid on every imported message. The Messages tab lists
        # by arrival; reconciling a renumbered folder looks stored messages up by header key.
        indexes = [
            models.Index(fields=["channel", "-internal_date"]),
            models.Index(fields=["channel", "header_key"]),
        ]

    def __str__(self) -> str:
        return visible_controls(self.subject or self.message_id or f"UID {self.uid}")


class BackfillStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class Backfill(models.Model):
    """Importing what arrived while a channel was down, with its progress and, at the end, its receipt."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="backfills")
    status = models.CharField(max_length=10, choices=BackfillStatus.choices, default=BackfillStatus.QUEUED)
    reconnected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reconnected_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    total = models.PositiveIntegerField(default=0)
    imported = models.PositiveIntegerField(default=0)
    # Bytes still to download and downloaded, for the time left at the provider's daily limit.
    total_bytes = models.BigIntegerField(default=0)
    imported_bytes = models.BigIntegerField(default=0)
    # When the channel stopped syncing: the receipt counts every message imported since, whichever
    # task imported it (a sync that recovered the channel by itself imports before the backfill runs).
    incident_started_at = models.DateTimeField(null=True, blank=True)
    # The last time a batch of it was stored: a time-left estimate is shown only while it moves.
    progressed_at = models.DateTimeField(null=True, blank=True)
    # Set while the daily download limit is used up: the import resumes by itself then.
    paused_until = models.DateTimeField(null=True, blank=True)
    # Who was alerted about the incident: they get the receipt in the "reconnected" notice.
    notify_user_ids = models.JSONField(default=list, blank=True)
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-reconnected_at", "-id"]

    def __str__(self) -> str:
        return f"Backfill of {self.channel} ({self.status})"
