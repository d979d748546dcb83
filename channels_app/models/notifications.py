from django.conf import settings
from django.db import models
from django.utils import timezone

from channels_app.models.channels import Channel


class NotificationKind(models.TextChoices):
    NEEDS_REAUTH = "needs_reauth", "Needs reauthorization"
    BLOCKED = "blocked", "Blocked by the provider's administrator"
    UNREACHABLE = "unreachable", "Unreachable"
    CONFIGURATION = "configuration", "Provider configuration"
    # An answer from the provider that the app does not know: staff teach the provider module.
    UNRECOGNISED = "unrecognised", "Unrecognised provider answer"
    # A bug of ours (or input we cannot handle) stopped a channel's check: staff only.
    CRASH = "crash", "Internal error"
    RECOVERED = "recovered", "Recovered"
    RECONNECTED = "reconnected", "Reconnected"


class Notification(models.Model):
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=20, choices=NotificationKind.choices)
    message = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    # Set when the problem is over (channel reauthorized or recovered); a
    # resolved notification is no longer shown as a pop-up to anyone.
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["recipient", "resolved_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} → {self.recipient}"


class SupportRequest(models.Model):
    """ "Contact support" from a channel that keeps needing reauthorization; staff see them in admin."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="support_requests")
    requester = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="support_requests")
    message = models.TextField()
    # Provider, incident reasons and times, gathered by us; never credentials.
    diagnostics = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    handled = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Support request about {self.channel} from {self.requester}"
