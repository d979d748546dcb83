"""Reads about Microsoft Graph subscriptions (services/graph_push.py makes and renews them): which ones Graph
holds for us now, which of them announce new mail, and which channels should have one and have none."""

from datetime import datetime

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from channels_app.models import Channel, ChannelStatus, GraphSubscription


def subscriptions_held(now: datetime | None = None) -> QuerySet[GraphSubscription]:
    """The subscriptions Graph holds for us now, silent or not: the renewal pass keeps these."""
    if not settings.GRAPH_NOTIFICATIONS:
        return GraphSubscription.objects.none()
    return GraphSubscription.objects.filter(
        channel__provider="microsoft", channel__delegate_address="", expires_at__gt=now or timezone.now()
    ).exclude(subscription_id="")


def live_subscriptions(now: datetime | None = None) -> QuerySet[GraphSubscription]:
    """The subscriptions through which new mail arrives now (not reported silent): a channel with one is
    polled only as a safety net (selectors.due.channels_to_sync)."""
    return subscriptions_held(now).filter(silent_reported_at__isnull=True)


def graph_push_healthy(channel: Channel, now: datetime | None = None) -> bool:
    """A live subscription: new mail arrives by notification, so polling can slow down."""
    return live_subscriptions(now).filter(channel=channel).exists()


def channels_without_subscription() -> list[int]:
    """Active Microsoft channels that should have a subscription and Graph holds none: the renewal pass
    creates theirs (after a connect whose first attempt failed, a removal, an expiry). A silent one is
    kept: it is renewed as usual, and a notification through it makes it healthy again."""
    if not settings.GRAPH_NOTIFICATIONS:
        return []
    waiting = GraphSubscription.objects.exclude(needs_consent_since=None)
    return list(
        Channel.objects.filter(provider="microsoft", status=ChannelStatus.ACTIVE, delegate_address="")
        .exclude(pk__in=subscriptions_held().values("channel_id"))
        .exclude(pk__in=waiting.values("channel_id"))
        .values_list("pk", flat=True)
    )
