"""Reads that pages and services share: a channel's incidents, how often it needed
reauthorization, the diagnostics support sees, the pop-ups and past alerts a person is shown and
which of them they want by email."""

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db.models import F, Q, QuerySet
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from channels_app.models import (
    PROBLEM_KINDS,
    STAFF_KINDS,
    AlertCategory,
    AlertEmailOptOut,
    Channel,
    ChannelEvent,
    ChannelStatus,
    Company,
    CompanyMembership,
    CompanySignIn,
    GmailWatch,
    GraphSubscription,
    Inbox,
    Notification,
    ReauthorizationLink,
    Role,
    User,
    alert_category,
)
from channels_app.permissions import Space, space_of_inbox, visible_channels, visible_inboxes, workspace_role
from channels_app.providers.registry import provider_classes

# Statuses that begin an incident: the mailbox stops syncing without anyone asking for it.
INCIDENT_STATUSES = (ChannelStatus.NEEDS_REAUTH, ChannelStatus.BLOCKED, ChannelStatus.UNREACHABLE)
# Statuses that end one: the mailbox syncs again, or someone disconnected it on purpose.
INCIDENT_ENDS = (ChannelStatus.ACTIVE, ChannelStatus.DISCONNECTED)


def reauth_threshold() -> int:
    # Read at call time, not import time, so settings overrides (and tests) take effect.
    return getattr(settings, "REPEATED_REAUTH_THRESHOLD", 3)


def reauth_window_days() -> int:
    return getattr(settings, "REPEATED_REAUTH_DAYS", 30)


@dataclass(frozen=True)
class Incident:
    """One time a channel stopped syncing on its own, and the event that ended it, if any."""

    started: ChannelEvent
    # The first later event back to active, or a disconnect (someone ended the story on purpose: a later
    # reconnect starts afresh, it does not recover this); None while the incident goes on.
    ended: ChannelEvent | None

    @property
    def started_at(self) -> datetime:
        return self.started.created_at

    @property
    def ongoing(self) -> bool:
        return self.ended is None

    @property
    def ended_by_disconnect(self) -> bool:
        return self.ended is not None and self.ended.to_status == ChannelStatus.DISCONNECTED


def _incident_events(channel: Channel) -> QuerySet[ChannelEvent]:
    # A repeat of the same status (a person's action logged on a broken channel) is the same
    # incident going on, not a new one. This is the one definition both the list and the count use.
    return channel.events.filter(to_status__in=INCIDENT_STATUSES).exclude(from_status=F("to_status"))


def channel_incidents(channel: Channel, since: datetime | None = None) -> list[Incident]:
    """Incidents newest first, each paired with the next event back to active or disconnected."""
    events = channel.events.select_related("actor").order_by("created_at", "id")
    if since is not None:
        # An incident ends after it starts, so events before `since` can neither start nor end one we show.
        events = events.filter(created_at__gte=since)
    incident_ids = set(_incident_events(channel).values_list("pk", flat=True))
    incidents: list[Incident] = []
    waiting: list[ChannelEvent] = []  # started, not yet back to active
    for event in events:
        if event.pk in incident_ids:
            waiting.append(event)
        elif event.to_status in INCIDENT_ENDS and waiting:
            incidents.extend(Incident(started, event) for started in waiting)
            waiting = []
    incidents.extend(Incident(started, None) for started in waiting)
    incidents.sort(key=lambda i: (i.started.created_at, i.started.pk), reverse=True)
    return incidents


def reauth_incidents_count(channel: Channel, days: int | None = None) -> int:
    """How many times the channel fell into needs_reauth in the last `days` days."""
    since = timezone.now() - timedelta(days=reauth_window_days() if days is None else days)
    return _incident_events(channel).filter(to_status=ChannelStatus.NEEDS_REAUTH, created_at__gte=since).count()


def support_offered(channel: Channel, reauth_count: int | None = None) -> bool:
    """Whether Contact support is open for the channel: it needed reauthorization repeatedly."""
    count = reauth_incidents_count(channel) if reauth_count is None else reauth_count
    return count >= reauth_threshold()


def _utc(moment: datetime | None) -> str:
    # Support staff read these from many time zones: one unambiguous form.
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if moment else "never"


def channel_diagnostics(channel: Channel, incidents: list[Incident] | None = None, limit: int = 20) -> str:
    """What support needs to look into a channel, as plain text.

    Built from an explicit list of harmless fields, never from the model as a whole, so
    credentials, tokens and their ciphertext cannot slip in when fields are added later.
    Provider error text (`last_error`) is left out too: we do not control what it echoes.
    """
    if incidents is None:
        incidents = channel_incidents(channel)
    inbox = channel.inbox
    lines = [
        f"Channel: {channel.address} (id {channel.pk})",
        f"Provider: {channel.get_provider_display()}",
        f"Status: {channel.get_status_display()} since {_utc(channel.status_since)}"
        + (f" ({channel.get_reason_code_display()})" if channel.reason_code else ""),
        f"Inbox: {inbox.name} ({inbox.get_kind_display()} inbox)",
        f"Connected: {_utc(channel.created_at)}",
        f"Last sync: {_utc(channel.last_synced_at)}",
        f"Reauthorization incidents in the last {reauth_window_days()} days: {reauth_incidents_count(channel)}",
        "",
        f"Incidents (newest first, at most {limit}):" if incidents else "Incidents: none",
    ]
    for incident in incidents[:limit]:
        start = incident.started
        if incident.ended is None:
            outcome = "ongoing"
        elif incident.ended_by_disconnect:
            outcome = f"ended by a disconnect {_utc(incident.ended.created_at)} by {incident.ended.caused_by}"
        else:
            outcome = f"back to active {_utc(incident.ended.created_at)} by {incident.ended.caused_by}"
        lines.append(
            f"- {_utc(start.created_at)}: {start.get_to_status_display()}"
            f" (reason: {start.reason or 'none given'}; by {start.caused_by}); {outcome}"
        )
    return "\n".join(lines)


def popup_alerts(user: User, *, hide: Collection[int] = ()) -> list[Notification]:
    """The pop-ups to show a person now: their open problems minus those dismissed this session,
    about channels they may still see (access is checked when shown: someone who left a workspace
    or moved to another company is not shown its channels). Staff also see the alerts meant for
    staff alone, whatever their memberships: they act on those from Django admin."""
    if not user.is_authenticated:
        return []
    alerts = (
        notification_history(user)
        .filter(kind__in=PROBLEM_KINDS, resolved_at__isnull=True)
        .select_related("channel", "organisation_connection")
        .order_by("-created_at")
    )
    return [n for n in alerts if n.pk not in hide]


def notification_history(user: User) -> QuerySet[Notification]:
    """Every alert a person was sent, newest first, about channels they may still see; staff also keep
    the alerts meant for staff alone. The one definition of what the pop-ups, the Notifications page
    and its unread count show, so none of them lists what another cannot open."""
    allowed = Q(channel__in=visible_channels(user))
    # An organisation connection's alerts: to the admins of its company, while they are.
    admin_of = CompanyMembership.objects.filter(user=user, role=Role.ADMIN).values("company_id")
    allowed |= Q(channel__isnull=True, organisation_connection__company_id__in=admin_of)
    if user.is_staff:
        allowed |= Q(kind__in=STAFF_KINDS)
    return Notification.objects.filter(recipient=user).filter(allowed)


def unread_notifications_count(user: User) -> int:
    if not user.is_authenticated:
        return 0
    return notification_history(user).filter(read_at__isnull=True).count()


def alert_categories_for(user: User) -> list[AlertCategory]:
    """The categories a person may be sent, so may choose emails for: staff alone are told staff alerts."""
    return [c for c in AlertCategory if c != AlertCategory.STAFF or user.is_staff]


def alert_email_opt_outs(user: User) -> set[AlertCategory]:
    return {AlertCategory(c) for c in AlertEmailOptOut.objects.filter(user=user).values_list("category", flat=True)}


def alert_email_wanted(user: User, kind: str) -> bool:
    """Whether an alert of `kind` also goes to `user` by email: yes unless they turned its category off."""
    return not AlertEmailOptOut.objects.filter(user=user, category=alert_category(kind)).exists()


def open_links(channel: Channel) -> list[ReauthorizationLink]:
    """The links of `channel` that still work, newest first, for its Settings tab."""
    return list(ReauthorizationLink.objects.open().filter(channel=channel).select_related("sent_by"))


def link_of_pending(*, link_id: int, channel_id: int) -> ReauthorizationLink | None:
    """The link a reauthorization through a link came back for, whatever its state, with what its pages show."""
    return (
        ReauthorizationLink.objects.select_related("channel__inbox__company", "sent_by")
        .filter(pk=link_id, channel_id=channel_id)
        .first()
    )


def idle_providers() -> list[str]:
    """The providers whose new mail an IDLE listener announces (MailProvider.idle_push)."""
    return [kind for kind, cls in provider_classes().items() if cls.idle_push]


def idle_candidates(now: datetime) -> QuerySet[Channel]:
    """Channels an IDLE listener should hold: those that sync (unreachable ones too: a held connection is how
    they notice recovery at once), on a provider with IDLE, whose server did not lack IDLE in the last day."""
    return Channel.objects.filter(
        status__in=[ChannelStatus.ACTIVE, ChannelStatus.UNREACHABLE], provider__in=idle_providers()
    ).filter(Q(idle_unsupported_at__isnull=True) | Q(idle_unsupported_at__lt=now - timedelta(days=1)))


def idle_healthy(now: datetime) -> Q:
    """Channels whose IDLE a live listener holds and the server confirmed lately (within a re-issue or relogin
    period, whichever comes first, and a minute): their new mail is announced and synced by the listener,
    whose relogin sync is the safety net (selectors.due.channels_to_sync)."""
    period = min(settings.IDLE_REISSUE_SECONDS, settings.IDLE_RELOGIN_MINUTES * 60)
    confirmed = now - timedelta(seconds=period + 60)
    return Q(
        idle_until__gt=now, idle_since__isnull=False, idle_confirmed_at__gt=confirmed, idle_silent_reported_at=None
    ) & ~Q(idle_owner="")


@dataclass(frozen=True)
class MailDelivery:
    """How a channel receives new mail, for its Overview tab."""

    by_idle: bool
    pushed: bool = False
    listener: str = ""
    since: datetime | None = None
    poll_minutes: int = 0


def mail_delivery(channel: Channel, now: datetime | None = None, *, pushed: bool = False) -> MailDelivery:
    """`pushed`: the provider's own push (Gmail's watch, Graph's notifications) is healthy, so polling is
    the slower safety net even without IDLE."""
    now = now or timezone.now()
    by_idle = Channel.objects.filter(idle_healthy(now), pk=channel.pk).exists()
    if pushed and not by_idle:
        return MailDelivery(by_idle=False, pushed=True, poll_minutes=settings.PUSH_POLL_INTERVAL_SECONDS // 60)
    if by_idle:
        return MailDelivery(
            by_idle=True,
            listener=channel.idle_owner,
            since=channel.idle_since,
            # The listener's relogin sync is the safety net (selectors.due.channels_to_sync).
            poll_minutes=settings.IDLE_RELOGIN_MINUTES,
        )
    return MailDelivery(by_idle=False, poll_minutes=settings.SYNC_INTERVAL_MINUTES)


def first_import_scope(channel: Channel) -> str:
    """How far back the channel's first import reached, as a phrase for a sentence: what Add channel
    offered (FIRST_IMPORT_DAYS or the days chosen, fixed as `import_since` when the channel was created;
    none: the whole mailbox), said on the Overview and when connecting."""
    if channel.import_since is None:
        return "all mail in the mailbox"
    days = round((channel.created_at - channel.import_since) / timedelta(days=1))
    since = date_format(timezone.localtime(channel.import_since), "M j, Y")
    return (
        f"mail that arrived since {since} ({days} day{pluralize(days)} before connecting); "
        "older mail stays at the provider"
    )


def email_domain(email: str) -> str:
    """The lowercased part after the last @, or "" for text that is no address."""
    local, at, domain = email.strip().rpartition("@")
    return domain.lower() if local and at else ""


def company_sign_in_for_email(email: str) -> CompanySignIn | None:
    """The identity provider that people of this address's domain sign in through, while it is on."""
    domain = email_domain(email)
    if not domain:
        return None
    return CompanySignIn.objects.select_related("company").filter(enabled=True, domains__domain=domain).first()


def company_sign_in_of(company: Company) -> CompanySignIn | None:
    """The company's identity provider settings, whether on or off; None until they are first saved."""
    return CompanySignIn.objects.filter(company=company).first()


def keeps_password_sign_in(user: User) -> bool:
    """Staff and superusers always sign in with their password, so a broken identity provider can
    lock nobody out of the admin that would fix it."""
    return user.is_staff or user.is_superuser


# Where a card sends whoever may fix the channel: Reauthorize, links and Disconnect are on the Settings tab.
FIX_ON_SETTINGS = (ChannelStatus.NEEDS_REAUTH, ChannelStatus.BLOCKED, ChannelStatus.DISCONNECTED)


@dataclass(frozen=True)
class InboxCard:
    """One inbox on the home page and where it leads: its channel (the Settings tab when the person can fix
    what is wrong there, else the Overview), or its space's Channels page while it has no channel."""

    inbox: Inbox
    channel: Channel | None
    can_manage: bool

    @property
    def space(self) -> Space:
        return space_of_inbox(self.inbox)

    @property
    def fix_on_settings(self) -> bool:
        return self.channel is not None and self.can_manage and self.channel.status in FIX_ON_SETTINGS

    @property
    def url(self) -> str:
        if self.channel is None:
            return self.space.url
        return reverse("channel_settings" if self.fix_on_settings else "channel_overview", args=[self.channel.pk])


def inbox_cards(user: User) -> list[InboxCard]:
    """The inboxes a person may see, by name; one query for them and one per shared workspace for the role."""
    inboxes = visible_inboxes(user).select_related("workspace", "channel").order_by("name", "pk")
    roles: dict[int, bool] = {}
    cards = []
    for inbox in inboxes:
        channel = getattr(inbox, "channel", None)  # the reverse one-to-one raises when there is none
        workspace = inbox.workspace
        if workspace is None:
            can_manage = inbox.owner_id == user.pk
        else:
            if workspace.pk not in roles:
                roles[workspace.pk] = workspace_role(user, workspace) == Role.ADMIN
            can_manage = roles[workspace.pk]
        cards.append(InboxCard(inbox, channel, can_manage))
    return cards


@dataclass(frozen=True)
class Footprint:
    """What a channel holds and keeps running: what Disconnect stops and Remove deletes, said on their
    confirmation pages."""

    messages: int
    # How new mail reaches us beside polling ("" when only by polling): the subscription Disconnect ends.
    subscription: str


def channel_footprint(channel: Channel) -> Footprint:
    if GmailWatch.objects.filter(channel=channel).exists():
        subscription = "the Gmail push subscription (watch) that announces new mail"
    elif GraphSubscription.objects.filter(channel=channel).exists():
        subscription = "the Microsoft Graph subscription that announces new mail"
    elif channel.idle_owner:
        subscription = "the IDLE connection on which the mail server announces new mail"
    else:
        subscription = ""
    return Footprint(messages=channel.messages.count(), subscription=subscription)
