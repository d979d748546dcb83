"""Who is told about a channel's trouble, and how: in-app notifications and email.

Alerts are written in the same transaction as the status change that caused
them, so an alert exists exactly when the status does; each carries its
email, which a task sends after commit and retries while the mail server is
down (services/emails.py). One notification per incident per recipient: while
one is unresolved nobody is told again.
"""

from collections.abc import Iterable

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from channels_app import metrics
from channels_app.models import (
    Channel,
    InboxKind,
    Notification,
    NotificationKind,
    OrganisationConnection,
    Role,
    User,
)
from channels_app.providers import PassingFailure, PolicyFailure, get_provider
from channels_app.services.emails import notification_email_queue


def alert_recipients(channel: Channel) -> list[User]:
    """Exactly the people who can fix the channel: the owner of an individual inbox;
    the workspace admins and company admins of a shared one."""
    inbox = channel.inbox
    if inbox.kind == InboxKind.INDIVIDUAL:
        return [inbox.owner] if inbox.owner and inbox.owner.is_active else []
    admins = User.objects.filter(is_active=True).filter(
        Q(workspace_memberships__workspace_id=inbox.workspace_id, workspace_memberships__role=Role.ADMIN)
        | Q(company_membership__company_id=inbox.company_id, company_membership__role=Role.ADMIN)
    )
    return list(admins.distinct().order_by("pk"))


def configuration_recipients(channel: Channel) -> list[User]:
    """Staff fix the app's provider settings; the company's admins should know why mail stopped."""
    people = User.objects.filter(is_active=True).filter(
        Q(is_staff=True)
        | Q(company_membership__company_id=channel.inbox.company_id, company_membership__role=Role.ADMIN)
    )
    return list(people.distinct().order_by("pk"))


def staff_recipients() -> list[User]:
    """Our own staff: they alone can teach the app an answer it does not recognise."""
    return list(User.objects.filter(is_active=True, is_staff=True).order_by("pk"))


def blocked_advice(admin_action: str) -> str:
    return (
        f"Reauthorizing will not help: ask your IT administrator to {admin_action}. "
        "We keep checking and tell you when it works again."
    )


def blocked_text(channel: Channel, failure: PolicyFailure) -> str:
    """What the people who would reauthorize are told: the provider's own words and what to ask for."""
    label = get_provider(channel.provider).label
    said = f"{label} says: “{failure.provider_words}”" if failure.provider_words else failure.message
    advice = blocked_advice(failure.admin_action)
    return f"The channel {channel.address} is blocked by an administrator at {label}. {said} {advice}"


def delegate_note(channel: Channel) -> str:
    """For a shared mailbox opened through a delegate: whose access ended, and that anyone else with access
    can take over ("" for a mailbox opened with its own sign-in)."""
    if not channel.delegate_address:
        return ""
    return (
        f"{channel.address} is a shared mailbox opened through delegate {channel.delegate_address}, whose "
        "access ended. Any other delegate with Full Access to it can take over by reauthorizing."
    )


def unrecognised_text(channel: Channel, failure: PassingFailure) -> str:
    label = get_provider(channel.provider).label
    words = f" (“{failure.provider_words}”)" if failure.provider_words else ""
    return (
        f"Unrecognised answer from {label} for {channel.address}: {failure.code}{words}. "
        "We keep trying; teach the provider module this answer."
    )[:500]


def crash_text(channel: Channel, error: Exception, *, cause: str) -> str:
    """Only the exception's type: its text may carry a customer's mail or a token; the traceback is in our log."""
    return (
        f"Internal error on {channel.address} (channel {channel.pk}): the {cause} stopped with "
        f"{type(error).__name__}. The traceback is in the log; we retry with backoff."
    )[:500]


def settings_link(channel: Channel) -> str:
    return settings.SITE_URL + reverse("channel_settings", args=[channel.pk])


def problem_text(channel: Channel, kind: str) -> str:
    if kind == NotificationKind.NEEDS_REAUTH:
        return f"The channel {channel.address} needs to be reauthorized."
    if kind == NotificationKind.BLOCKED:
        label = get_provider(channel.provider).label
        return f"The channel {channel.address} is blocked by an administrator at {label}; reauthorizing will not help."
    if kind == NotificationKind.UNREACHABLE:
        return f"The channel {channel.address} cannot be reached; we keep trying and will tell you when it is back."
    if kind == NotificationKind.CRASH:
        return f"Internal error on the channel {channel.address}"
    if kind == NotificationKind.PUSH_SILENT:  # services/push_silence.py names the provider's push instead
        return f"Push notifications for {channel.address} stopped arriving"
    return (
        f"The channel {channel.address} cannot sync because this app's {channel.get_provider_display()} "
        "settings need fixing by staff. Nobody needs to reauthorize."
    )


def preferences_line() -> str:
    """Every alert email ends with where to turn such emails off (the pop-ups stay)."""
    return f"Choose which alerts also come by email: {settings.SITE_URL}{reverse('alert_preferences')}\n"


def _notify(
    *, user: User, channel: Channel | None, kind: str, text: str, subject: str, body: str, **fields: object
) -> Notification:
    notification = Notification.objects.create(
        recipient=user,
        channel=channel,
        kind=kind,
        message=text[:500],
        # A line break in a subject is refused by the mail library: one line.
        email_subject=" ".join(subject.split()),
        email_body=f"{body}\n{preferences_line()}",
        **fields,
    )
    notification_email_queue(notification)
    # Counted once the alert exists for good: a rolled back status change sent nothing.
    transaction.on_commit(lambda: metrics.alert_sent(kind))
    return notification


def notify_problem(
    *, channel: Channel, kind: str, recipients: Iterable[User], detail: str = "", text: str = "", subject: str = ""
) -> list[Notification]:
    """Open an incident for each recipient not already told; must run inside the status change's transaction.

    The email's subject is `subject`, by default the kind's usual sentence; the pop-up says `text` (by
    default the subject); `detail` follows it in the email.
    """
    already = set(
        Notification.objects.filter(channel=channel, kind=kind, resolved_at__isnull=True).values_list(
            "recipient_id", flat=True
        )
    )
    subject = subject or problem_text(channel, kind)
    text = text or subject
    body = f"{text}\n\n{detail}\n\nOpen the channel's settings: {settings_link(channel)}\n".replace("\n\n\n", "\n\n")
    return [
        _notify(user=user, channel=channel, kind=kind, text=text, subject=subject, body=body)
        for user in recipients
        if user.pk not in already
    ]


def resolve_problems(*, channel: Channel, kinds: Iterable[str]) -> list[User]:
    """Close the open incidents of `kinds` (their pop-ups go away for everyone); returns who had been told."""
    open_alerts = Notification.objects.filter(channel=channel, kind__in=list(kinds), resolved_at__isnull=True)
    recipients = {n.recipient_id: n.recipient for n in open_alerts.select_related("recipient")}
    open_alerts.update(resolved_at=timezone.now())
    return list(recipients.values())


def notify_follow_up(
    *, channel: Channel, kind: str, recipients: Iterable[User], text: str, subject: str | None = None
) -> list[Notification]:
    """Tell people, once, that an incident is over (recovered, reconnected with its receipt)."""
    now = timezone.now()
    body = f"{text}\n\nThe channel: {settings_link(channel)}\n"
    return [
        _notify(
            user=user,
            channel=channel,
            kind=kind,
            text=text,
            subject=subject or text,
            body=body,
            created_at=now,
            resolved_at=now,
        )
        for user in recipients
    ]


def notify_organisation(
    *,
    connection: OrganisationConnection,
    recipients: Iterable[User],
    subject: str,
    text: str,
    detail: str,
    link: str,
) -> list[Notification]:
    """One company incident about an organisation connection (no channel): must run inside the change's
    transaction; the caller checks that none is open yet. The pop-up says `text`, the email adds `detail`."""
    body = f"{text}\n\n{detail}\n\nThe step-by-step instructions: {link}\n"
    return [
        _notify(
            user=user,
            channel=None,
            kind=NotificationKind.ORGANISATION,
            text=text,
            subject=subject,
            body=body,
            organisation_connection=connection,
        )
        for user in recipients
    ]


def organisation_follow_up(
    *, connection: OrganisationConnection, recipients: Iterable[User], text: str, link: str
) -> list[Notification]:
    """Tell the company admins once that the connection's incident is over."""
    now = timezone.now()
    return [
        _notify(
            user=user,
            channel=None,
            kind=NotificationKind.RECOVERED,
            text=text,
            subject=text,
            body=f"{text}\n\nThe organisation connection: {link}\n",
            organisation_connection=connection,
            created_at=now,
            resolved_at=now,
        )
        for user in recipients
    ]
