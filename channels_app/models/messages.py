from django.conf import settings
from django.db import models
from django.utils import timezone

from channels_app.display import visible_controls
from channels_app.models.channels import Channel


class Message(models.Model):
    """A message imported from a channel's mailbox, keyed by the server's own identity.

    The raw message is kept in the database rather than in files: a backfill
    writes thousands of messages a second in batches that must commit together
    with the sync cursor, and one transaction cannot span a file store.
    """

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="messages")
    uidvalidity = models.BigIntegerField()
    uid = models.BigIntegerField()
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
        constraints = [
            models.UniqueConstraint(fields=["channel", "uidvalidity", "uid"], name="message_unique_per_uid"),
        ]
        # Few indexes on purpose: each one is paid on every imported message. Reconciling
        # by Message-ID or digest reads a channel's recent rows once, by (channel, date).
        indexes = [models.Index(fields=["channel", "-date"])]

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
    # When the imported messages arrived (their Date headers): the receipt's "between … and …".
    earliest_message_at = models.DateTimeField(null=True, blank=True)
    latest_message_at = models.DateTimeField(null=True, blank=True)
    # Who was alerted about the incident: they get the receipt in the "reconnected" notice.
    notify_user_ids = models.JSONField(default=list, blank=True)
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-reconnected_at", "-id"]

    def __str__(self) -> str:
        return f"Backfill of {self.channel} ({self.status})"
