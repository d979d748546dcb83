from django.conf import settings
from django.db import models
from django.utils import timezone

from channels_app.models.channels import Channel
from channels_app.models.organisation import OrganisationConnection


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
    # What became of a reauthorization link someone sent (services/reauth_links.py).
    LINK_USED = "link_used", "Reauthorized through a link"
    LINK_REFUSED = "link_refused", "Reauthorization link refused"
    # A Gmail watch or Graph subscription stopped announcing new mail that polls then found
    # (services/push_silence.py): staff only.
    PUSH_SILENT = "push_silent", "Push notifications silent"
    # The company's organisation connection stopped working: one incident for the company's admins, whatever
    # the number of channels through it (services/organisation_health.py).
    ORGANISATION = "organisation", "Organisation connection needs its administrator"


# Kinds that describe an ongoing problem: shown as a pop-up until resolved.
PROBLEM_KINDS = (
    NotificationKind.NEEDS_REAUTH,
    NotificationKind.BLOCKED,
    NotificationKind.UNREACHABLE,
    NotificationKind.CONFIGURATION,
    NotificationKind.UNRECOGNISED,
    NotificationKind.CRASH,
    NotificationKind.PUSH_SILENT,
    NotificationKind.ORGANISATION,
)
# Kinds told to staff (configuration also to company admins): staff act on them from Django admin.
STAFF_KINDS = (
    NotificationKind.CONFIGURATION,
    NotificationKind.UNRECOGNISED,
    NotificationKind.CRASH,
    NotificationKind.PUSH_SILENT,
)


class AlertCategory(models.TextChoices):
    """The kinds of alert as people think of them: each person chooses, per category, whether its alerts
    also come by email (pop-ups always show)."""

    SIGN_IN = "sign_in", "Reauthorization needed"
    STOPPED = "stopped", "Mail stopped"
    BACK = "back", "Working again"
    LINKS = "links", "Links you sent"
    # Only staff are told these (STAFF_KINDS but configuration, which company admins are told too).
    STAFF = "staff", "For staff"


CATEGORY_KINDS: dict[AlertCategory, tuple[NotificationKind, ...]] = {
    AlertCategory.SIGN_IN: (NotificationKind.NEEDS_REAUTH,),
    AlertCategory.STOPPED: (
        NotificationKind.BLOCKED,
        NotificationKind.UNREACHABLE,
        NotificationKind.CONFIGURATION,
        NotificationKind.ORGANISATION,
    ),
    AlertCategory.BACK: (NotificationKind.RECOVERED, NotificationKind.RECONNECTED),
    AlertCategory.LINKS: (NotificationKind.LINK_USED, NotificationKind.LINK_REFUSED),
    AlertCategory.STAFF: (NotificationKind.UNRECOGNISED, NotificationKind.CRASH, NotificationKind.PUSH_SILENT),
}
KIND_CATEGORY: dict[str, AlertCategory] = {
    kind: category for category, kinds in CATEGORY_KINDS.items() for kind in kinds
}


def alert_category(kind: str) -> AlertCategory:
    return KIND_CATEGORY[kind]


class EmailState(models.TextChoices):
    PENDING = "pending", "Not sent yet"
    SENT = "sent", "Sent"
    # A problem notice resolved before its email went out: sending it now would only alarm.
    OBSOLETE = "obsolete", "Not sent: resolved before it went out"
    GAVE_UP = "gave_up", "Not sent: gave up after a day"
    # Its recipient turned emails of its category off (AlertEmailOptOut): the pop-up is all they get.
    OPTED_OUT = "opted_out", "Not sent: turned off by the person"


class Notification(models.Model):
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    # A channel's alert; or, without a channel, an organisation connection's (one for the whole company).
    channel = models.ForeignKey(Channel, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications")
    organisation_connection = models.ForeignKey(
        OrganisationConnection, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=20, choices=NotificationKind.choices)
    message = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    # Set when the problem is over (channel reauthorized or recovered); a
    # resolved notification is no longer shown as a pop-up to anyone.
    resolved_at = models.DateTimeField(null=True, blank=True)

    # Its email, written with it and sent by a task after commit (services/emails.py): a mail server
    # that is down delays the email, never the pass that raised the alert.
    email_subject = models.TextField(blank=True)
    email_body = models.TextField(blank=True)
    email_state = models.CharField(max_length=10, choices=EmailState.choices, default=EmailState.PENDING)
    email_attempts = models.PositiveIntegerField(default=0)
    email_next_attempt_at = models.DateTimeField(null=True, blank=True, default=timezone.now)
    email_sent_at = models.DateTimeField(null=True, blank=True)
    # The mail server's answer to the last failed attempt (never the email's content).
    email_last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["recipient", "resolved_at"]),
            models.Index(fields=["email_state", "email_next_attempt_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} → {self.recipient}"

    @property
    def for_staff_only(self) -> bool:
        """An alert staff act on from Django admin (the unrecognised answers and crashes)."""
        return self.kind in (NotificationKind.UNRECOGNISED, NotificationKind.CRASH)

    @property
    def category(self) -> AlertCategory:
        return alert_category(self.kind)


class AlertEmailOptOut(models.Model):
    """A person who wants no email for one category of alert. Without a row alerts also come by email,
    so everyone is emailed as before until they choose otherwise."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="alert_email_opt_outs")
    category = models.CharField(max_length=20, choices=AlertCategory.choices)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "category"], name="one_opt_out_per_alert_category")]

    def __str__(self) -> str:
        return f"{self.user}: no email for {self.get_category_display()}"


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
