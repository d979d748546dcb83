"""Channels: an inbox connected to a mail account, and the log of its status changes."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from channels_app.models.tenancy import Inbox
from channels_app.providers.base import ImapSecurity, ReasonCode
from channels_app.providers.registry import provider_choices


class ChannelStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    NEEDS_REAUTH = "needs_reauth", "Needs reauthorization"
    # The customer's provider administrator blocks us (Conditional Access, IMAP off): reauthorizing will not help.
    BLOCKED = "blocked", "Blocked by the provider's administrator"
    UNREACHABLE = "unreachable", "Unreachable"
    DISCONNECTED = "disconnected", "Disconnected"


# Statuses that a person must act on, shown as warnings in settings. Not DISCONNECTED: a person chose it,
# and it is shown apart (reconnect or remove), never as a problem.
ATTENTION_STATUSES = (
    ChannelStatus.NEEDS_REAUTH,
    ChannelStatus.BLOCKED,
    ChannelStatus.UNREACHABLE,
)


class Channel(models.Model):
    inbox = models.OneToOneField(Inbox, on_delete=models.CASCADE, related_name="channel")
    # Choices from the provider registry, as a callable: a new provider needs no migration.
    provider = models.CharField(max_length=20, choices=provider_choices)
    address = models.EmailField()
    # A Microsoft 365 shared mailbox has no sign-in of its own: it is opened with the token of this
    # delegate (a person with Full Access to it). Empty: the address's own sign-in holds the credentials.
    delegate_address = models.EmailField("opened through delegate", blank=True, default="")
    # Set: the mailbox is opened through the company's organisation connection (a token minted for the
    # address, or for our app), and the channel holds no credentials of its own. RESTRICT: a connection is never
    # removed from under its channels, yet a company deleted takes its connections and channels together.
    organisation_connection = models.ForeignKey(
        "channels_app.OrganisationConnection",
        null=True,
        blank=True,
        on_delete=models.RESTRICT,
        related_name="channels",
    )
    status = models.CharField(max_length=20, choices=ChannelStatus.choices, default=ChannelStatus.ACTIVE)
    status_reason = models.CharField(max_length=500, blank=True)
    status_since = models.DateTimeField(default=timezone.now)
    reason_code = models.CharField(max_length=20, choices=ReasonCode.choices, blank=True, default="")
    last_synced_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    # Credentials (tokens or password) as one encrypted blob; see
    # channels_app.crypto. Never rendered anywhere.
    credentials_ciphertext = models.TextField(blank=True, default="", editable=False)
    token_expires_at = models.DateTimeField(null=True, blank=True)
    token_refreshed_at = models.DateTimeField(null=True, blank=True)

    # Connection details for password (IMAP) channels; OAuth providers take
    # their host from settings.
    imap_host = models.CharField(max_length=255, blank=True)
    imap_port = models.PositiveIntegerField(null=True, blank=True)
    imap_security = models.CharField(
        max_length=10, choices=[(s.value, s.label) for s in ImapSecurity], default=ImapSecurity.TLS.value
    )
    imap_username = models.CharField(max_length=255, blank=True)

    # Health bookkeeping (services/health.py).
    last_checked_at = models.DateTimeField(null=True, blank=True)
    # When the current run of passing failures began; None while requests succeed.
    failing_since = models.DateTimeField(null=True, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    # The provider's own code for the last failure (AADSTS53003, [OVERQUOTA], invalid_grant): staff read it.
    last_error_code = models.CharField(max_length=100, blank=True)
    # Backoff: passing failures and needs_reauth channels are not tried again before this.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # Set while our app's registration with the provider is broken (staff must fix settings).
    configuration_error = models.CharField(max_length=500, blank=True)
    subscription_renewed_at = models.DateTimeField(null=True, blank=True)
    # The last fresh IMAP login that succeeded (services/mailbox.channel_mailbox): it answers what a probe
    # asks, so the probe pass skips a channel that signed in this recently (selectors.due.channels_to_probe).
    last_login_at = models.DateTimeField(null=True, blank=True)
    # Single-flight across workers and machines: a lease claimed by a conditional
    # UPDATE. A worker that dies simply lets it expire.
    lease_owner = models.CharField(max_length=64, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    # The IDLE listener holding the channel's IDLE connection (services/idle_lease.py): a second lease,
    # apart from the sync lease above, since a connection is held for hours and a sync for seconds.
    idle_owner = models.CharField(max_length=100, blank=True)
    idle_until = models.DateTimeField(null=True, blank=True)
    # When the server last accepted IDLE on the current connection (None: not idling now), and when it
    # last confirmed it (the continuation, an untagged answer, a re-issue): polling slows down only while recent.
    idle_since = models.DateTimeField(null=True, blank=True)
    idle_confirmed_at = models.DateTimeField(null=True, blank=True)
    # When the server last announced new mail over IDLE; when the listener's safety-net sync found mail it had
    # not announced for PUSH_SILENCE_MINUTES (reported to staff once, polled as usual until it announces again).
    idle_announced_at = models.DateTimeField(null=True, blank=True)
    idle_silent_reported_at = models.DateTimeField(null=True, blank=True)
    # Pushes (Gmail's watch, Graph) handed to the listener holding a healthy IDLE, not yet taken by it
    # (services/idle_lease.idle_sync_request): it syncs over its connection instead of a worker signing in.
    idle_sync_requests = models.PositiveIntegerField(default=0)
    # The server does not offer IDLE (RFC 2177): polled only, asked again a day later.
    idle_unsupported_at = models.DateTimeField(null=True, blank=True)

    # A new channel imports mail that arrived from this moment on (its first import is bounded, so a
    # large mailbox does not run into the provider's download limits); None: everything.
    import_since = models.DateTimeField(null=True, blank=True)
    # Bytes downloaded today (UTC), against the daily budget that keeps us under the provider's limit.
    download_day = models.DateField(null=True, blank=True)
    downloaded_bytes = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["address"]
        indexes = [
            models.Index(fields=["status"]),
            models.Index(fields=["next_attempt_at"]),
            # Each listener asks every tick which of its channels have a sync handed over: nearly none do.
            models.Index(fields=["idle_owner"], condition=Q(idle_sync_requests__gt=0), name="channel_idle_sync_wanted"),
        ]

    def __str__(self) -> str:
        return self.address

    @property
    def needs_attention(self) -> bool:
        return self.status in ATTENTION_STATUSES


class ChannelEvent(models.Model):
    """One row per status change: when, from, to, why, and who or what caused it."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="events")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    from_status = models.CharField(max_length=20, choices=ChannelStatus.choices, blank=True)
    to_status = models.CharField(max_length=20, choices=ChannelStatus.choices)
    reason = models.CharField(max_length=500, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="channel_events"
    )
    # What caused it when no person did, e.g. "sync task", "probe task", "staff action".
    cause = models.CharField(max_length=100, blank=True)
    # The provider's code for the answer that caused it, if a provider's answer did; never a token.
    provider_code = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.channel}: {self.from_status or '—'} → {self.to_status}"

    @property
    def caused_by(self) -> str:
        if self.actor_id:
            return str(self.actor)
        return self.cause or "system"


class ProviderRequestWindow(models.Model):
    """Requests started against a provider in one second, counted across every worker and machine."""

    provider = models.CharField(max_length=20)
    second = models.BigIntegerField()  # Unix time, whole seconds
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["provider", "second"], name="one_window_per_second")]

    def __str__(self) -> str:
        return f"{self.provider} @ {self.second}: {self.count}"
