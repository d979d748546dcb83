"""Reads about push health, for the scheduled poll and the Overview tab (no writes here).

A Gmail channel's push is healthy while its watch has not lapsed and has not been reported silent
(services/gmail_push.py): such a channel is polled only every PUSH_POLL_INTERVAL_SECONDS as a safety
net, the others at every sync pass.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from channels_app.models import Channel, GmailWatch
from channels_app.providers import get_provider


def _push_on() -> bool:
    return bool(get_provider("gmail").values.get("PUBSUB_TOPIC"))


def _healthy_watches(now: datetime) -> QuerySet[GmailWatch]:
    return GmailWatch.objects.filter(channel__provider="gmail", expires_at__gt=now, silent_reported_at__isnull=True)


def push_healthy(channel: Channel) -> bool:
    return _push_on() and _healthy_watches(timezone.now()).filter(channel=channel).exists()


def polled_recently_under_push() -> QuerySet[GmailWatch]:
    """Channels (ids, as `channel_id`) whose push is healthy and that synced within the slower poll
    interval: the sync pass leaves them out."""
    now = timezone.now()
    if not _push_on():
        return GmailWatch.objects.none()
    since = now - timedelta(seconds=settings.PUSH_POLL_INTERVAL_SECONDS)
    return _healthy_watches(now).filter(channel__last_synced_at__gt=since)


@dataclass(frozen=True)
class PushSummary:
    """How a channel receives mail, for its Overview tab."""

    healthy: bool
    renews_at: datetime
    expires_at: datetime
    last_push_at: datetime | None


def push_summary(channel: Channel) -> PushSummary | None:
    watch = GmailWatch.objects.filter(channel=channel).first()
    if watch is None or not _push_on():
        return None
    hours = get_provider(channel.provider).renewal_after_hours
    renewed = channel.subscription_renewed_at or watch.renewed_at
    return PushSummary(
        healthy=push_healthy(channel),
        renews_at=renewed + timedelta(hours=hours),
        expires_at=watch.expires_at,
        last_push_at=watch.last_push_at,
    )
