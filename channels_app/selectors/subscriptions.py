"""Reads about Microsoft Graph subscriptions (services/graph_push.py makes and renews them): which channels
want one, which ones Graph holds for us now, which of them announce new mail, which channels should have one
and have none, and how a channel's stands for its Overview and the Channel health page."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from channels_app.models import Channel, ChannelStatus, GraphSubscription
from channels_app.providers import get_provider


def graph_push_wanted(channel: Channel) -> bool:
    # A shared mailbox opened through a delegate stays on polling: subscribing to another user's mailbox
    # needs Mail.Read.Shared (https://learn.microsoft.com/en-us/graph/permissions-reference#mailreadshared),
    # which we do not ask for, and Graph would refuse it as a policy (403), blocking a channel that works.
    # Through the organisation connection our app's token is for Exchange's IMAP only (outlook.office365.com):
    # no Graph token to subscribe with, so polling and IDLE.
    return (
        settings.GRAPH_NOTIFICATIONS
        and channel.provider == "microsoft"
        and not channel.delegate_address
        and channel.organisation_connection_id is None
    )


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
        Channel.objects.filter(
            provider="microsoft", status=ChannelStatus.ACTIVE, delegate_address="", organisation_connection=None
        )
        .exclude(pk__in=subscriptions_held().values("channel_id"))
        .exclude(pk__in=waiting.values("channel_id"))
        .values_list("pk", flat=True)
    )


@dataclass(frozen=True)
class GraphSummary:
    """How a Microsoft channel's Graph notifications stand, for its Overview tab."""

    renews_at: datetime | None  # None: Graph holds no subscription for us now
    needs_consent: bool
    # Reported silent (services/push_silence.py): polled every pass until a notification arrives.
    silent: bool
    last_notification_at: datetime | None
    # When Graph drops the subscription unless renewed; None while Graph holds none for us.
    expires_at: datetime | None = None

    @property
    def healthy(self) -> bool:
        return self.renews_at is not None and not self.silent


def graph_summary(channel: Channel) -> GraphSummary | None:
    """One read of the channel's subscription; None when the channel has none at all."""
    return subscription_summary(channel, GraphSubscription.objects.filter(channel=channel).first(), timezone.now())


def subscription_summary(channel: Channel, sub: GraphSubscription | None, now: datetime) -> GraphSummary | None:
    """graph_summary of a subscription already read (the Channel health page reads every channel's at once)."""
    if sub is None:
        return None
    renews_at = None
    if graph_push_wanted(channel) and sub.subscription_id and sub.expires_at and sub.expires_at > now:
        # The provider's renewal interval after the last renewal, and never after it expires.
        last = sub.renewed_at or sub.created_at or now
        renews_at = min(last + timedelta(hours=get_provider("microsoft").renewal_after_hours), sub.expires_at)
    return GraphSummary(
        renews_at=renews_at,
        needs_consent=sub.needs_consent_since is not None,
        silent=sub.silent_reported_at is not None,
        last_notification_at=sub.last_notification_at,
        expires_at=sub.expires_at if renews_at is not None else None,
    )
