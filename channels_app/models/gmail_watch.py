"""A Gmail channel's watch: Gmail publishes its mailbox's changes to our Pub/Sub topic while it lasts."""

from django.db import models
from django.utils import timezone

from channels_app.models.channels import Channel


class GmailWatch(models.Model):
    """Made by the first successful users.watch, renewed daily (it lapses after 7 days).

    `history_id` is the mailbox history we have imported up to: a push with a higher one makes us read
    users.history.list from here. `last_push_at` and `silent_reported_at` tell whether pushes still come
    (channels_app/push_health.py).
    """

    channel = models.OneToOneField(Channel, on_delete=models.CASCADE, related_name="gmail_watch")
    history_id = models.PositiveBigIntegerField()
    expires_at = models.DateTimeField()
    renewed_at = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)
    last_push_at = models.DateTimeField(null=True, blank=True)
    pushes = models.PositiveIntegerField(default=0)
    # Set when polls found mail no push had announced for a long time, and staff were told; a push clears it.
    silent_reported_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"watch of {self.channel_id} until {self.expires_at:%Y-%m-%d %H:%M}"
