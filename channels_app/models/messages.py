from django.db import models
from django.utils import timezone

from channels_app.models.channels import Channel


class Message(models.Model):
    """A message imported from a channel's mailbox, keyed by the server's own identity."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="messages")
    uidvalidity = models.BigIntegerField()
    uid = models.BigIntegerField()
    message_id = models.CharField(max_length=998, blank=True)
    from_address = models.CharField(max_length=998, blank=True)
    subject = models.CharField(max_length=998, blank=True)
    date = models.DateTimeField(null=True, blank=True)
    size = models.PositiveIntegerField(default=0)
    imported_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-date", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "uidvalidity", "uid"], name="message_unique_per_uid"),
        ]
        indexes = [models.Index(fields=["channel", "message_id"])]

    def __str__(self) -> str:
        return self.subject or self.message_id or f"UID {self.uid}"
