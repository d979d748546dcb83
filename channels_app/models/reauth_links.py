from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone

from channels_app.models.channels import Channel


class LinkState(models.TextChoices):
    OPEN = "open", "Open"
    USED = "used", "Used"
    WITHDRAWN = "withdrawn", "Withdrawn"
    EXPIRED = "expired", "Expired"


class ReauthorizationLinkQuerySet(models.QuerySet["ReauthorizationLink"]):
    def open(self, now: datetime | None = None) -> "ReauthorizationLinkQuerySet":
        """Links that still work: not used, not withdrawn, not expired (as `state` reads one link)."""
        return self.filter(used_at=None, withdrawn_at=None, expires_at__gt=now or timezone.now())


class ReauthorizationLink(models.Model):
    """A link that lets whoever holds a channel's account reauthorize it without an account with us.

    The emailed URL carries a signed (link id, nonce); only the nonce's digest is stored, so the
    database alone cannot make a working link. It works once, for `address` only, until `expires_at`,
    unless withdrawn (services/reauth_links.py)."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="reauthorization_links")
    # The channel's account when the link was sent: the only account the link accepts.
    address = models.EmailField()
    sent_to = models.EmailField()
    sent_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    nonce_digest = models.CharField(max_length=64, unique=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    used_at = models.DateTimeField(null=True, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = ReauthorizationLinkQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.channel.address} → {self.sent_to}"

    def state(self, now: datetime | None = None) -> LinkState:
        if self.used_at:
            return LinkState.USED
        if self.withdrawn_at:
            return LinkState.WITHDRAWN
        if self.expires_at <= (now or timezone.now()):
            return LinkState.EXPIRED
        return LinkState.OPEN
