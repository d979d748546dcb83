"""Reads for the Channel health page, its CSV export and staff's view of it in Django admin (no writes here).

One row per channel: its status, how it receives new mail, the newest mail seen, its incidents and uptime
over the last UPTIME_DAYS days, and what expires next. The rows of any number of channels take two
queries (the channels with what hangs off them, then their status changes in the window).

Uptime is the share of the window the channel was Active, out of the time it was not Disconnected: a
person disconnecting a channel stopped it on purpose, which is no outage. Needs reauthorization, Blocked
and Unreachable count as down; Unreachable is entered only after UNREACHABLE_GRACE_MINUTES of failures,
so shorter outages do not show. The window starts UPTIME_DAYS ago, or when the channel was connected if
later; the status at its start is that of the last change before it. A channel Disconnected the whole
window has no uptime ("—").
"""

import enum
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.db.models import BooleanField, Case, OuterRef, QuerySet, Subquery, Value, When
from django.utils import timezone

from channels_app import crypto
from channels_app.models import Channel, ChannelEvent, ChannelStatus, GmailWatch, GraphSubscription, Message
from channels_app.providers import Credentials, get_provider
from channels_app.providers.gmail.errors import TESTING_MODE_GRANT_LIFETIME
from channels_app.providers.registry import provider_choices
from channels_app.push_health import PushSummary, watch_summary
from channels_app.selectors import INCIDENT_STATUSES, idle_healthy
from channels_app.selectors.subscriptions import GraphSummary, subscription_summary

UPTIME_DAYS = 30


class Delivery(enum.StrEnum):
    """How new mail reaches us, as the Overview tab says it (selectors.mail_delivery, push_health, graph_push)."""

    IDLE = "idle"
    GMAIL_PUSH = "gmail_push"
    GRAPH = "graph"
    POLLING = "polling"

    @property
    def label(self) -> str:
        return {
            Delivery.IDLE: "IDLE",
            Delivery.GMAIL_PUSH: "Gmail push",
            Delivery.GRAPH: "Microsoft Graph notifications",
            Delivery.POLLING: "Polling",
        }[self]


@dataclass(frozen=True)
class Expiry:
    what: str
    at: datetime


@dataclass(frozen=True)
class HealthRow:
    channel: Channel
    delivery: Delivery
    # Why a provider's push is not used though the channel has one ("Gmail push went silent"), or "".
    delivery_note: str
    last_mail_at: datetime | None
    incidents: int
    uptime: float | None  # 0..1; None: disconnected the whole window
    expires_next: Expiry | None

    @property
    def delivery_text(self) -> str:
        """As the Overview says it: "IDLE", "Gmail push", "Polling every 1 min (Gmail push went silent …)"; "—"
        while nothing is synced (disconnected, or waiting for a reauthorization or for IT:
        selectors.due.channels_to_sync)."""
        if self.channel.status in (ChannelStatus.DISCONNECTED, ChannelStatus.NEEDS_REAUTH, ChannelStatus.BLOCKED):
            return "—"
        if self.delivery != Delivery.POLLING:
            return self.delivery.label
        text = f"Polling every {settings.SYNC_INTERVAL_MINUTES} min"
        return f"{text} ({self.delivery_note})" if self.delivery_note else text

    @property
    def uptime_percent(self) -> str:
        # Rounded down: 100 % means no downtime at all, never 99.96 % shown as 100.
        return "—" if self.uptime is None else f"{math.floor(self.uptime * 1000) / 10:.1f} %"


def uptime(
    *, status_at_start: str, changes: Sequence[tuple[datetime, str]], start: datetime, end: datetime
) -> float | None:
    """The share of [start, end] spent Active out of the time not Disconnected; `changes` are (when, to
    status) in order. Changes before `start` or after `end` are clipped to the window."""
    up = counted = timedelta(0)
    status, since = status_at_start, start
    for at, to in [*changes, (end, status)]:
        at = min(max(at, start), end)
        if status != ChannelStatus.DISCONNECTED:
            counted += at - since
            if status == ChannelStatus.ACTIVE:
                up += at - since
        status, since = to, at
    return up / counted if counted > timedelta(0) else None


class SortKey(enum.StrEnum):
    ADDRESS = "address"
    PROVIDER = "provider"
    STATUS = "status"
    DELIVERY = "delivery"
    LAST_MAIL = "last_mail"
    INCIDENTS = "incidents"
    UPTIME = "uptime"
    EXPIRES = "expires"

    @property
    def label(self) -> str:
        return {
            SortKey.ADDRESS: "Address",
            SortKey.PROVIDER: "Provider",
            SortKey.STATUS: "Status",
            SortKey.DELIVERY: "Receives mail by",
            SortKey.LAST_MAIL: "Last mail seen",
            SortKey.INCIDENTS: "Incidents",
            SortKey.UPTIME: "Uptime",
            SortKey.EXPIRES: "Expires next",
        }[self]

    def of(self, row: HealthRow) -> Any:
        """The row's value for this column; None sorts last whichever the direction."""
        channel = row.channel
        return {
            SortKey.ADDRESS: channel.address.lower(),
            SortKey.PROVIDER: channel.get_provider_display(),
            SortKey.STATUS: channel.get_status_display(),
            SortKey.DELIVERY: row.delivery.label,
            SortKey.LAST_MAIL: row.last_mail_at,
            SortKey.INCIDENTS: row.incidents,
            SortKey.UPTIME: row.uptime,
            SortKey.EXPIRES: row.expires_next.at if row.expires_next else None,
        }[self]


@dataclass(frozen=True)
class Sort:
    key: SortKey = SortKey.ADDRESS
    descending: bool = False

    @classmethod
    def parse(cls, text: str | None) -> "Sort":
        """`uptime` or `-uptime`; anything else sorts by address."""
        text = text or ""
        descending = text.startswith("-")
        try:
            return cls(SortKey(text.removeprefix("-")), descending)
        except ValueError:
            return cls()

    def __str__(self) -> str:
        return f"{'-' if self.descending else ''}{self.key}"

    def apply(self, rows: Iterable[HealthRow]) -> list[HealthRow]:
        # By address first, so rows equal in the chosen column stay in a stable, readable order.
        ordered = sorted(rows, key=lambda r: (r.channel.address.lower(), r.channel.pk))
        known = [r for r in ordered if self.key.of(r) is not None]
        unknown = [r for r in ordered if self.key.of(r) is None]
        return sorted(known, key=self.key.of, reverse=self.descending) + unknown


@dataclass(frozen=True)
class HealthFilter:
    status: str = ""
    provider: str = ""

    @classmethod
    def parse(cls, status: str | None, provider: str | None) -> "HealthFilter":
        """Values that are no status or provider are ignored, as if not chosen."""
        status = status if status in ChannelStatus.values else ""
        kinds = {kind for kind, _ in provider_choices()}
        return cls(status=status or "", provider=provider if provider in kinds else "")

    def apply(self, channels: QuerySet[Channel]) -> QuerySet[Channel]:
        if self.status:
            channels = channels.filter(status=self.status)
        if self.provider:
            channels = channels.filter(provider=self.provider)
        return channels


def _delivery(channel: Channel, watch: PushSummary | None, graph: GraphSummary | None) -> tuple[Delivery, str]:
    """The Overview's answer (views.channel_pages.overview): a healthy IDLE first (pushes hand over to its
    listener), then the provider's push, else polling, saying why a push the channel has is not used."""
    if channel.idle_ok:  # type: ignore[attr-defined]
        return Delivery.IDLE, ""
    if watch and watch.healthy:
        return Delivery.GMAIL_PUSH, ""
    if graph and graph.healthy:
        return Delivery.GRAPH, ""
    if watch:
        return Delivery.POLLING, "Gmail push went silent or its watch lapsed"
    if graph and graph.silent:
        return Delivery.POLLING, "Graph notifications went silent"
    if graph and graph.needs_consent:
        return Delivery.POLLING, "reauthorize to get Graph notifications"
    return Delivery.POLLING, ""


def _related(channel: Channel, name: str) -> Any:
    """A one-to-one row select_related has read, or None when the channel has none."""
    try:
        return getattr(channel, name)
    except (GmailWatch.DoesNotExist, GraphSubscription.DoesNotExist):
        return None


def _testing_mode_expiry(channel: Channel) -> datetime | None:
    """When a Google grant made in Testing mode dies (GMAIL_TESTING_MODE): 7 days after it was given."""
    if channel.provider != "gmail" or not get_provider("gmail").values.get("TESTING_MODE"):
        return None
    try:
        # Only the grant's time is read from the credentials; nothing else of them leaves this function.
        granted = Credentials.from_json(crypto.decrypt_json(channel.credentials_ciphertext)).granted_at
    except (crypto.CredentialsUnreadable, ValueError):
        return None
    return granted + TESTING_MODE_GRANT_LIFETIME if granted else None


def _secret_expiry(channel: Channel) -> datetime | None:
    provider = get_provider(channel.provider)
    expires = provider.values.get("CLIENT_SECRET_EXPIRES") if provider.uses_oauth else None
    return datetime.combine(expires, time.min, tzinfo=UTC) if expires else None


def _expires_next(channel: Channel, delivery_expiries: list[Expiry]) -> Expiry | None:
    label = channel.get_provider_display()
    candidates = list(delivery_expiries)
    if grant := _testing_mode_expiry(channel):
        candidates.append(Expiry("Google sign-in (Testing mode)", grant))
    if secret := _secret_expiry(channel):
        candidates.append(Expiry(f"{label} client secret", secret))
    return min(candidates, key=lambda e: e.at, default=None)


def _push_expiries(watch: PushSummary | None, graph: GraphSummary | None) -> list[Expiry]:
    found = []
    if watch:
        found.append(Expiry("Gmail watch", watch.expires_at))
    if graph and graph.expires_at:
        found.append(Expiry("Graph subscription", graph.expires_at))
    return found


def health_rows(channels: QuerySet[Channel], *, now: datetime | None = None) -> list[HealthRow]:
    """The rows of `channels` in address order, in two queries whatever their number."""
    now = now or timezone.now()
    window_start = now - timedelta(days=UPTIME_DAYS)
    before_window = ChannelEvent.objects.filter(channel=OuterRef("pk"), created_at__lt=window_start).order_by(
        "-created_at", "-id"
    )
    newest_mail = Message.objects.filter(channel=OuterRef("pk"), internal_date__isnull=False).order_by("-internal_date")
    annotated = (
        channels.select_related("inbox", "inbox__workspace", "inbox__company", "gmail_watch", "graph_subscription")
        .annotate(
            idle_ok=Case(When(idle_healthy(now), then=Value(True)), default=Value(False), output_field=BooleanField()),
            last_mail_at=Subquery(newest_mail.values("internal_date")[:1]),
            status_before_window=Subquery(before_window.values("to_status")[:1]),
        )
        .order_by("address", "pk")
    )
    rows_of = list(annotated)
    changes: dict[int, list[tuple[datetime, str, str]]] = defaultdict(list)
    events = ChannelEvent.objects.filter(channel__in=channels.values("pk"), created_at__gte=window_start)
    for channel_id, at, from_status, to_status in events.order_by("created_at", "id").values_list(
        "channel_id", "created_at", "from_status", "to_status"
    ):
        changes[channel_id].append((at, from_status, to_status))
    return [_row(channel, changes.get(channel.pk, []), now, window_start) for channel in rows_of]


def _row(
    channel: Channel, changes: list[tuple[datetime, str, str]], now: datetime, window_start: datetime
) -> HealthRow:
    start = max(window_start, channel.created_at)
    # The status at the window's start: the last change before it; else what the first change in it left
    # (a channel starts Active); else, with no change at all, the status it has now.
    if channel.status_before_window:  # type: ignore[attr-defined]
        status_at_start = channel.status_before_window  # type: ignore[attr-defined]
    elif changes:
        status_at_start = changes[0][1] or ChannelStatus.ACTIVE
    else:
        status_at_start = channel.status
    watch = watch_summary(channel, _related(channel, "gmail_watch"), now)
    graph = subscription_summary(channel, _related(channel, "graph_subscription"), now)
    delivery, note = _delivery(channel, watch, graph)
    return HealthRow(
        channel=channel,
        delivery=delivery,
        delivery_note=note,
        last_mail_at=channel.last_mail_at,  # type: ignore[attr-defined]
        # The definition selectors.channel_incidents uses: a repeat of the same status is no new incident.
        incidents=sum(1 for _, was, to in changes if to in INCIDENT_STATUSES and was != to),
        uptime=uptime(
            status_at_start=status_at_start, changes=[(at, to) for at, _, to in changes], start=start, end=now
        ),
        expires_next=_expires_next(channel, _push_expiries(watch, graph)),
    )


# --- the CSV export --------------------------------------------------------------------------------

CSV_HEADER = [
    "Address",
    "Inbox",
    "Workspace",
    "Company",
    "Provider",
    "Status",
    "Status since (UTC)",
    "Receives mail by",
    "Last mail seen (UTC)",
    f"Incidents ({UPTIME_DAYS} days)",
    f"Uptime ({UPTIME_DAYS} days)",
    "Expires next",
    "Expires at (UTC)",
]
# A spreadsheet runs a cell that starts with one of these as a formula (OWASP, "CSV Injection"); a leading
# apostrophe makes it text. Tab and carriage return are on OWASP's list too.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: str) -> str:
    return f"'{value}" if value.startswith(_FORMULA_STARTS) else value


def _utc(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if moment else "—"


def csv_rows(rows: Iterable[HealthRow]) -> Iterable[list[str]]:
    """The header, then each row as the page shows it (times in UTC), every cell safe to open in a spreadsheet."""
    yield CSV_HEADER
    for row in rows:
        channel = row.channel
        inbox = channel.inbox
        cells = [
            channel.address,
            inbox.name,
            inbox.workspace.name if inbox.workspace else "",
            inbox.company.name,
            channel.get_provider_display(),
            channel.get_status_display(),
            _utc(channel.status_since),
            row.delivery_text,
            _utc(row.last_mail_at),
            str(row.incidents),
            row.uptime_percent,
            row.expires_next.what if row.expires_next else "—",
            _utc(row.expires_next.at if row.expires_next else None),
        ]
        yield [csv_safe(cell) for cell in cells]
