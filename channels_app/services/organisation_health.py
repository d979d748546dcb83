"""How an organisation connection's trouble is handled: one company incident, not one per channel.

A channel through the connection that is refused (the delegation or consent withdrawn, the key deleted, the
mailbox's permission removed) waits, blocked with the reason `organisation`, and nobody who owns a channel
is asked to reauthorize what they cannot fix: the company's admins are told once what to ask their
Workspace or Microsoft 365 administrator to grant again, with the same generated instructions as the
Organisation connection page. When the connection works again (a Test, or any channel's sync) every
waiting channel is checked at once, and each that opens resumes as after any reconnect, importing the mail
it missed (services/health.record_success and services/reconnect.py).
"""

from dataclasses import dataclass
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django_q.tasks import async_task

from channels_app.models import (
    Channel,
    ChannelStatus,
    Notification,
    NotificationKind,
    OrganisationConnection,
    OrganisationDomain,
    OrganisationProvider,
    OrganisationStatus,
    ReasonCode,
    Role,
    User,
)
from channels_app.providers import AuthFailure, Credentials, PolicyFailure, ProviderFailure, get_provider
from channels_app.providers.organisation import GrantMissing, OrganisationGrantFailure
from channels_app.selectors import email_domain
from channels_app.selectors.organisation import another_working_address
from channels_app.services.connect import select_inbox
from channels_app.services.notifications import notify_organisation, organisation_follow_up
from channels_app.services.organisation_tokens import (
    connection_of,
    forget_tokens,
    grant_words,
    with_organisation_token,
)
from channels_app.services.status import channel_set_status

# What the organisation's side answers when it will not open a mailbox (OrganisationGrantFailure is a
# PolicyFailure); anything else (out of reach, unrecognised) says nothing about the grant.
REFUSED = (AuthFailure, PolicyFailure)

# Failures that stop the whole connection; a mailbox the grant does not cover stops only its channel.
CONNECTION_WIDE = (GrantMissing.DELEGATION, GrantMissing.CONSENT, GrantMissing.KEY, GrantMissing.SETTINGS)


def company_admins(connection: OrganisationConnection) -> list[User]:
    """Who hears about the connection: the company's admins, who set it up and can ask for the grant."""
    return list(
        User.objects.filter(
            is_active=True, company_membership__company_id=connection.company_id, company_membership__role=Role.ADMIN
        ).order_by("pk")
    )


def connection_link(connection: OrganisationConnection) -> str:
    return settings.SITE_URL + reverse("organisation_connection", args=[connection.provider])


def grant_failure(connection: OrganisationConnection, failure: ProviderFailure) -> OrganisationGrantFailure:
    """Any refusal through the connection, as what the administrator must grant again."""
    if isinstance(failure, OrganisationGrantFailure):
        return failure
    google = connection.organisation_provider.provider_kind == "gmail"
    missing = GrantMissing.DELEGATION if google else GrantMissing.MAILBOX
    return OrganisationGrantFailure(
        failure.message, grant=missing, code=failure.code, provider_words=failure.provider_words
    )


def incident_text(connection: OrganisationConnection, failure: OrganisationGrantFailure) -> str:
    """The pop-up: what happened and that nobody but the administrator can fix it (under 500 characters)."""
    label = connection.get_provider_display()
    return (
        f"The {label} organisation connection stopped working: {failure.message} Its channels wait and resume "
        f"by themselves; nobody needs to reauthorize. Your {label} administrator must grant access again."
    )[:500]


def incident_detail(connection: OrganisationConnection, failure: OrganisationGrantFailure, address: str) -> str:
    """The email: the provider's words and exactly what to ask the administrator for."""
    label = connection.get_provider_display()
    said = f"{label} says: “{failure.provider_words}”\n\n" if failure.provider_words else ""
    return (
        f"{said}Ask your {label} administrator to {grant_words(connection, failure.grant, address)}.\n\n"
        "The channels through the connection wait and resume by themselves once it works again, with the mail "
        "that arrived meanwhile."
    )


def _open_incident(connection: OrganisationConnection, failure: OrganisationGrantFailure, address: str) -> None:
    """Tell the company's admins, once while the incident lasts; must run inside the change's transaction."""
    # Channels through the connection fail together: the row lock makes one of them the one that tells.
    OrganisationConnection.objects.select_for_update().filter(pk=connection.pk).first()
    already_told = Notification.objects.filter(
        organisation_connection=connection, kind=NotificationKind.ORGANISATION, resolved_at__isnull=True
    ).exists()
    if already_told:
        return
    label = connection.get_provider_display()
    notify_organisation(
        connection=connection,
        recipients=company_admins(connection),
        subject=f"The {label} organisation connection needs your administrator",
        text=incident_text(connection, failure),
        detail=incident_detail(connection, failure, address),
        link=connection_link(connection),
    )


def _connection_failed(connection: OrganisationConnection, failure: OrganisationGrantFailure) -> None:
    now = timezone.now()
    changes: dict[str, object] = {
        "last_error": failure.message[:500],
        "last_error_code": failure.code,
        "grant_missing": failure.grant.value,
    }
    if failure.grant in CONNECTION_WIDE:
        changes["status"] = OrganisationStatus.FAILING
        OrganisationConnection.objects.filter(pk=connection.pk).exclude(status=OrganisationStatus.FAILING).update(
            status_since=now
        )
    OrganisationConnection.objects.filter(pk=connection.pk).update(**changes)


def _refuses(connection: OrganisationConnection, address: str) -> bool:
    """Whether the grant refuses `address` now (a provider out of reach says nothing either way: False)."""
    try:
        organisation_open(connection, address)
    except REFUSED:
        return True
    except ProviderFailure:
        return False
    return False


def _whole_app_refused(
    connection: OrganisationConnection, grant: OrganisationGrantFailure, channel: Channel
) -> OrganisationGrantFailure:
    """Entra mints an app token without the tenant's consent too, only without the IMAP.AccessAsApp role
    (https://learn.microsoft.com/en-us/answers/questions/5672988), and Exchange then refuses every mailbox as
    it refuses one without Full Access or an app without a service principal: "AUTHENTICATE failed." alike.
    So a mailbox refused is told apart by opening another that was working: refused too, the consent or the
    service principal is gone for the whole connection; opened, only this mailbox's permission is."""
    if (
        connection.organisation_provider is not OrganisationProvider.MICROSOFT
        or grant.grant is not GrantMissing.MAILBOX
    ):
        return grant
    if connection.status == OrganisationStatus.FAILING and connection.grant_missing == GrantMissing.CONSENT:
        other = ""  # already found refused everywhere: every channel waits for the same grant
    else:
        other = another_working_address(connection, but=channel.pk) or ""
        if not other or not _refuses(connection, other):
            return grant
    also = f" and {other}" if other else ""
    return OrganisationGrantFailure(
        f"{channel.address}{also} refused the app's token: its consent or its service principal is gone.",
        grant=GrantMissing.CONSENT,
        admin_action=grant_words(connection, GrantMissing.CONSENT, channel.address),
        code=grant.code,
        provider_words=grant.provider_words,
    )


def organisation_channel_failed(channel: Channel, failure: ProviderFailure, *, cause: str) -> None:
    """A channel through the connection was refused: it waits, and the company (not its owner) is told."""
    connection = connection_of(channel)
    grant = _whole_app_refused(connection, grant_failure(connection, failure), channel)
    now = timezone.now()
    with transaction.atomic():
        Channel.objects.filter(pk=channel.pk).update(
            last_checked_at=now,
            last_error=grant.message[:500],
            last_error_code=grant.code,
            failing_since=None,
            consecutive_failures=0,
            # Providers ban addresses that keep failing logins: only the slow check until the grant is back.
            next_attempt_at=now + timedelta(minutes=settings.SLOW_CHECK_MINUTES),
        )
        label = connection.get_provider_display()
        channel_set_status(
            channel=channel,
            status=ChannelStatus.BLOCKED,
            reason=(
                f"Waiting for the {label} organisation connection: {grant.message} Your company admins were told "
                "what to ask for; nothing needs doing here."
            )[:500],
            reason_code=ReasonCode.ORGANISATION,
            cause=cause,
            provider_code=grant.code,
        )
        _connection_failed(connection, grant)
        _open_incident(connection, grant, channel.address)


def _resume_waiting(connection: OrganisationConnection, *, but: int | None = None) -> None:
    """Check every waiting channel now (each that opens resumes and backfills, by record_success)."""
    waiting = Channel.objects.filter(organisation_connection=connection, reason_code=ReasonCode.ORGANISATION)
    ids = [pk for pk in waiting.values_list("pk", flat=True) if pk != but]
    for channel_id in ids:
        transaction.on_commit(
            partial(
                async_task,
                "channels_app.tasks.probe_channel",
                channel_id,
                False,
                task_name=f"organisation-resume-{channel_id}",
            )
        )


def _resolve_if_over(connection: OrganisationConnection, *, but: int | None = None) -> None:
    """The incident ends once the connection works and no channel through it waits any more."""
    waiting = Channel.objects.filter(organisation_connection=connection, reason_code=ReasonCode.ORGANISATION)
    still_waiting = any(pk != but for pk in waiting.values_list("pk", flat=True))
    if still_waiting:
        return
    open_alerts = Notification.objects.filter(
        organisation_connection=connection, kind=NotificationKind.ORGANISATION, resolved_at__isnull=True
    )
    told = {n.recipient_id: n.recipient for n in open_alerts.select_related("recipient")}
    if not told:
        return
    open_alerts.update(resolved_at=timezone.now())
    label = connection.get_provider_display()
    organisation_follow_up(
        connection=connection,
        recipients=list(told.values()),
        text=f"The {label} organisation connection works again: its channels resume and import the mail they missed.",
        link=connection_link(connection),
    )


def _worked(connection: OrganisationConnection, *, channel_id: int | None, address: str, resume: bool) -> None:
    """The connection opened `address`: working, its domain verified; waiting channels are checked now when
    it came back (or `resume`: a company admin's Test)."""
    now = timezone.now()
    came_back = (
        OrganisationConnection.objects.filter(pk=connection.pk)
        .exclude(status=OrganisationStatus.WORKING)
        .update(status=OrganisationStatus.WORKING, status_since=now)
    )
    OrganisationConnection.objects.filter(pk=connection.pk).update(
        last_worked_at=now, last_error="", last_error_code="", grant_missing=""
    )
    OrganisationDomain.objects.get_or_create(connection=connection, domain=email_domain(address))
    if came_back or resume:
        _resume_waiting(connection, but=channel_id)
    _resolve_if_over(connection, but=channel_id)


def organisation_channel_worked(channel: Channel) -> None:
    """A channel through the connection opened its mailbox: the connection works."""
    connection = connection_of(channel)
    with transaction.atomic():
        _worked(connection, channel_id=channel.pk, address=channel.address, resume=False)


@dataclass(frozen=True)
class TestAnswer:
    works: bool
    words: str


def _open_and_select(mailbox_address: str, credentials: Credentials, provider_kind: str) -> None:
    provider = get_provider(provider_kind)
    with provider.open_mailbox(provider.imap_endpoint(address=mailbox_address), credentials) as client:
        select_inbox(client)


def organisation_open(connection: OrganisationConnection, address: str) -> None:
    """Open `address` through the connection (a token, the login, SELECT INBOX); raises classified failures."""
    kind = connection.organisation_provider.provider_kind
    with_organisation_token(connection, address, lambda c: _open_and_select(address, c, kind), fresh=True)


def organisation_test(*, connection: OrganisationConnection, mailbox: str) -> TestAnswer:
    """The Test button: open one named mailbox now and say the outcome in plain words; a success is the
    connection working (every waiting channel is checked at once), a refusal of the whole grant its incident."""
    address = mailbox.strip().lower()
    forget_tokens(connection.pk)
    OrganisationConnection.objects.filter(pk=connection.pk).update(last_tested_at=timezone.now(), test_mailbox=address)
    label = connection.get_provider_display()
    try:
        organisation_open(connection, address)
    except REFUSED as refused:
        failure = grant_failure(connection, refused)
        with transaction.atomic():
            _connection_failed(connection, failure)
            # While it is being set up (no channel goes through it) the page says it all: nobody else is told.
            if failure.grant in CONNECTION_WIDE and connection.channels.exists():
                _open_incident(connection, failure, address)
        said = f" {label} says: “{failure.provider_words}”" if failure.provider_words else ""
        return TestAnswer(
            False,
            f"{address} could not be opened: {failure.message}{said} "
            f"Ask your {label} administrator to {grant_words(connection, failure.grant, address)}.",
        )
    except ProviderFailure as failure:
        OrganisationConnection.objects.filter(pk=connection.pk).update(
            last_error=failure.message[:500], last_error_code=failure.code
        )
        return TestAnswer(False, f"{label} could not be reached: {failure.message} Try again in a few minutes.")
    with transaction.atomic():
        connection.refresh_from_db()
        # A company admin asked: every waiting channel is checked now, whatever stopped it.
        _worked(connection, channel_id=None, address=address, resume=True)
    return TestAnswer(True, f"It works: we opened {address} through the organisation connection just now.")


def covered_or_refusal(connection: OrganisationConnection, address: str) -> str:
    """ "" when the connection opens `address` now; otherwise why not, with the instruction that would cover it
    (Add channel refuses the mailbox with it)."""
    label = connection.get_provider_display()
    try:
        organisation_open(connection, address)
    except REFUSED as refused:
        failure = grant_failure(connection, refused)
        return (
            f"The organisation connection does not cover {address}: {failure.message} Ask your {label} "
            f"administrator to {grant_words(connection, failure.grant, address)}, then try again."
        )
    except ProviderFailure as failure:
        return f"{label} could not be reached: {failure.message} Try again in a few minutes."
    return ""
