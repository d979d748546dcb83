"""Microsoft Graph change notifications: each active Microsoft channel's subscription, and what its
notifications and lifecycle events make us do.

- The subscription is created (and later renewed, PATCH) by the renewal operation under the channel's
  lease, so its failures are classified like every other (health.run_check with the subscription reason).
- A notification is answered at once (202: Graph wants an answer within 3 seconds,
  https://learn.microsoft.com/en-us/graph/change-notifications-delivery-webhooks#processing-the-change-notification)
  and the sync it asks for is queued.
- Lifecycle events (https://learn.microsoft.com/en-us/graph/change-notifications-lifecycle-events):
  `reauthorizationRequired` → POST /subscriptions/{id}/reauthorize; `subscriptionRemoved` → create it
  again; `missed` → a full incremental sync (the notifications themselves are lost).
- A subscription that lets Inbox mail arrive unannounced (the scheduled poll finds it) is reported to
  staff once and polled every pass until a notification arrives again (`poll_found_mail`, by the rule
  Gmail's watch shares: services/push_silence.py).
"""

import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django_q.tasks import async_task

from channels_app import crypto
from channels_app.models import Channel, GraphSubscription
from channels_app.providers import AuthFailure, get_provider
from channels_app.providers.microsoft import graph
from channels_app.providers.microsoft.errors import SubscriptionGone
from channels_app.selectors.subscriptions import graph_push_wanted, subscriptions_held
from channels_app.services.idle_lease import idle_sync_request
from channels_app.services.mailbox import refresh_tokens, with_fresh_token
from channels_app.services.push_silence import PushPath, push_silence_check, push_silence_clear

logger = logging.getLogger(__name__)
T = TypeVar("T")

# A Graph token this close to its expiry is refreshed rather than used.
_TOKEN_MARGIN = timedelta(minutes=5)
# What an unknown subscription's clientState is compared with, so that it takes as long as a known one.
_NO_DIGEST = hashlib.sha256(b"no such subscription").hexdigest()


class LifecycleEvent:
    """The lifecycleEvent values Graph sends (change-notifications-lifecycle-events)."""

    REAUTHORIZATION_REQUIRED = "reauthorizationRequired"
    SUBSCRIPTION_REMOVED = "subscriptionRemoved"
    MISSED = "missed"
    ALL = (REAUTHORIZATION_REQUIRED, SUBSCRIPTION_REMOVED, MISSED)


class UnreadableNotification(ValueError):
    """The body is not Graph's {"value": [...]}: answered 400, nothing done."""


@dataclass
class ReceiveOutcome:
    """What one POST to our notification URL led to: the channels whose work was queued, and how many
    items were dropped (unknown subscription, wrong clientState, unknown event): never said to the sender."""

    channel_ids: set[int] = field(default_factory=set)
    ignored: int = 0


class GraphNotConsented(Exception):
    """Microsoft answered AADSTS65001 to the Graph refresh: the channel's grant was made before we asked
    for Graph (its IMAP access is fine). Not a reason to stop the mail: the channel is polled until its
    next reauthorization asks for Graph too."""


def consent_asked_again(channel: Channel) -> None:
    """A reauthorization may have brought the consent for Graph that an older grant lacked: the next
    renewal tries again (services/push_subscriptions.py queues it)."""
    GraphSubscription.objects.filter(channel=channel).update(needs_consent_since=None)


# --- the Graph token --------------------------------------------------------------------------


def _graph_token(channel: Channel, sub: GraphSubscription, *, fresh: bool = False) -> tuple[graph.GraphToken, bool]:
    """Graph's own access token, and whether it was just refreshed: the stored one while it lasts, else
    one from the refresh token (mailbox.refresh_tokens stores the rotated refresh token at once and
    leaves the IMAP token stored as it is; this keeps the Graph token beside the subscription)."""
    stored = crypto.decrypt_json(sub.token_ciphertext)
    if stored and not fresh:
        expires = datetime.fromisoformat(stored["expires_at"])
        if expires > timezone.now() + _TOKEN_MARGIN:
            return graph.GraphToken(stored["access_token"], expires), False
    # A refusal here reads as refused to renew our subscription: the tasks run this with that reason.
    try:
        answer = refresh_tokens(channel, other_resource=lambda c: graph.graph_refresh(get_provider("microsoft"), c))
    except AuthFailure as failure:
        if failure.code == "AADSTS65001":  # consent for Graph missing; a withdrawn grant fails the sync too
            raise GraphNotConsented from failure
        raise
    assert answer.expires_at is not None  # graph_refresh refuses an answer without one
    token = graph.GraphToken(answer.access_token, answer.expires_at)
    sub.token_ciphertext = crypto.encrypt_json(
        {"access_token": token.access_token, "expires_at": token.expires_at.isoformat()}
    )
    sub.save(update_fields=["token_ciphertext"])
    return token, True


def _with_graph_token(channel: Channel, sub: GraphSubscription, call: Callable[[graph.GraphToken], T]) -> T:
    """`call` with Graph's token; refused 401 while we believed it valid (expired early, or ended by the
    provider), it gets one fresh token and one more try, by the rule of every token we hold
    (mailbox.with_fresh_token). Refused again, the 401 is classified as it was (errors.graph_error)."""
    return with_fresh_token(lambda: _graph_token(channel, sub), lambda: _graph_token(channel, sub, fresh=True)[0], call)


# --- creating, renewing, reauthorizing (operations under health.run_check) ----------------------


def _digest(client_state: str) -> str:
    return hashlib.sha256(client_state.encode()).hexdigest()


def _lifetime() -> timedelta:
    return timedelta(minutes=settings.GRAPH_SUBSCRIPTION_MINUTES)


def _urls() -> tuple[str, str]:
    return (
        f"{settings.SITE_URL}{reverse('graph_notifications')}",
        f"{settings.SITE_URL}{reverse('graph_lifecycle')}",
    )


def _create(channel: Channel, sub: GraphSubscription) -> str:
    now = timezone.now()
    client_state = secrets.token_urlsafe(64)[:128]  # Graph takes at most 128 characters
    notification_url, lifecycle_url = _urls()
    made = _with_graph_token(
        channel,
        sub,
        lambda token: graph.create_subscription(
            token,
            notification_url=notification_url,
            lifecycle_url=lifecycle_url,
            client_state=client_state,
            resource=graph.INBOX_RESOURCE,
            now=now,
            lifetime=_lifetime(),
        ),
    )
    sub.subscription_id, sub.client_state_digest = made.id, _digest(client_state)
    sub.resource, sub.expires_at, sub.created_at, sub.renewed_at = made.resource, made.expires_at, now, now
    sub.save()
    Channel.objects.filter(pk=channel.pk).update(subscription_renewed_at=now)
    return f"Graph subscription created, expires {made.expires_at:%Y-%m-%d %H:%M} UTC"


def subscription_renew(channel: Channel) -> str:
    """The renewal of a Microsoft channel: PATCH the subscription's expiry, or create one when there is
    none or Graph no longer knows it."""
    sub, _ = GraphSubscription.objects.get_or_create(channel=channel)
    if sub.subscription_id:
        now = timezone.now()
        subscription_id = sub.subscription_id
        try:
            renewed = _with_graph_token(
                channel,
                sub,
                lambda token: graph.renew_subscription(token, subscription_id, now=now, lifetime=_lifetime()),
            )
        except SubscriptionGone:
            logger.info("Graph forgot the subscription of channel %s; creating another", channel.pk)
        else:
            sub.expires_at, sub.renewed_at = renewed.expires_at, now
            sub.save(update_fields=["expires_at", "renewed_at"])
            Channel.objects.filter(pk=channel.pk).update(subscription_renewed_at=now)
            return f"Graph subscription renewed until {renewed.expires_at:%Y-%m-%d %H:%M} UTC"
    return _create(channel, sub)


def subscription_reauthorize(channel: Channel) -> str:
    """`reauthorizationRequired`: prove our access again with a fresh token (Graph asks for one)."""
    sub, _ = GraphSubscription.objects.get_or_create(channel=channel)
    token, _refreshed = _graph_token(channel, sub, fresh=True)
    if not sub.subscription_id:
        return _create(channel, sub)
    try:
        graph.reauthorize_subscription(token, sub.subscription_id)
    except SubscriptionGone:
        return _create(channel, sub)
    return "Graph subscription reauthorized"


def subscription_recreate(channel: Channel) -> str:
    """`subscriptionRemoved`: Graph ended it; make a new one (with a new secret)."""
    sub, _ = GraphSubscription.objects.get_or_create(channel=channel)
    GraphSubscription.objects.filter(pk=sub.pk).update(subscription_id="", client_state_digest="", expires_at=None)
    sub.subscription_id, sub.client_state_digest, sub.expires_at = "", "", None
    return _create(channel, sub)


def subscription_not_consented(channel: Channel) -> str:
    """The grant predates Graph (GraphNotConsented): poll, say so on the Overview, and ask Graph again
    only after the next reauthorization (consent_asked_again), not every hour."""
    now = timezone.now()
    GraphSubscription.objects.update_or_create(
        channel=channel, defaults={"needs_consent_since": now, "subscription_id": "", "expires_at": None}
    )
    Channel.objects.filter(pk=channel.pk).update(subscription_renewed_at=now)
    return "Graph notifications need a reauthorization (the grant predates them): polling meanwhile"


def or_polling(operation: Callable[[Channel], str]) -> Callable[[Channel], str]:
    """`operation` (renew, reauthorize, recreate), falling back to polling when the grant predates Graph."""

    def run(channel: Channel) -> str:
        try:
            return operation(channel)
        except GraphNotConsented:
            return subscription_not_consented(channel)

    return run


def subscription_forget(channel: Channel) -> None:
    """A disconnected channel: its notifications are ignored from now on (Graph's subscription lapses
    by itself within days; we hold no token to delete it with)."""
    GraphSubscription.objects.filter(channel=channel).delete()


# --- receiving -----------------------------------------------------------------------------------


def _items(payload: Any) -> list[Any]:
    items = payload.get("value") if isinstance(payload, dict) else None
    if not isinstance(items, list):
        raise UnreadableNotification('expected Graph\'s notification collection: {"value": [...]}')
    return items


def _verified(item: Any) -> GraphSubscription | None:
    """The subscription an item is for, if its clientState matches ours (compared in constant time, also
    for an unknown subscription, so the answer's timing says nothing about which ids exist)."""
    if not isinstance(item, dict):
        return None
    subscription_id, client_state = item.get("subscriptionId"), item.get("clientState")
    if not isinstance(subscription_id, str) or not isinstance(client_state, str) or not subscription_id:
        return None
    sub = GraphSubscription.objects.filter(subscription_id=subscription_id).select_related("channel").first()
    expected = sub.client_state_digest if sub and sub.client_state_digest else _NO_DIGEST
    if not hmac.compare_digest(_digest(client_state), expected) or sub is None:
        return None
    return sub


def notifications_receive(payload: Any, *, lifecycle: bool) -> ReceiveOutcome:
    """Queue the work a POST to our notification (or lifecycle) URL asks for; raises UnreadableNotification."""
    outcome = ReceiveOutcome()
    events: set[tuple[int, str]] = set()
    seen: set[int] = set()
    for item in _items(payload):
        sub = _verified(item)
        event = item.get("lifecycleEvent") if isinstance(item, dict) else None
        if sub is None or (lifecycle and event not in LifecycleEvent.ALL):
            outcome.ignored += 1
            continue
        seen.add(sub.pk)
        if lifecycle:
            events.add((sub.channel_id, str(event)))
        else:
            outcome.channel_ids.add(sub.channel_id)
    if outcome.ignored:
        logger.info("Ignored %s Graph notification item(s) of no subscription of ours", outcome.ignored)
    if not lifecycle:
        notified = GraphSubscription.objects.filter(pk__in=seen)
        notified.update(last_notification_at=timezone.now())
        push_silence_clear(notified, path=_graph_path())
    for channel_id in sorted(outcome.channel_ids):
        # A listener holding the channel's healthy IDLE syncs over its connection (no login); else a worker.
        if not idle_sync_request(channel_id=channel_id, now=timezone.now()):
            async_task("channels_app.tasks.push_sync_channel", channel_id, task_name=f"push-{channel_id}")
    for channel_id, event in sorted(events):
        outcome.channel_ids.add(channel_id)
        async_task("channels_app.tasks.graph_lifecycle_channel", channel_id, event, task_name=f"graph-{event}")
    return outcome


# --- noticing silence ----------------------------------------------------------------------------


def _graph_path() -> PushPath:
    """What staff are told when a subscription goes silent (services/push_silence.py)."""
    return PushPath(
        announcement="Microsoft Graph notification",
        notifications="Microsoft Graph notifications",
        advice=f"check that Graph reaches our notification URL {_urls()[0]} (SITE_URL)",
        # We subscribe to the Inbox only (graph.INBOX_RESOURCE): mail a rule files elsewhere is never announced.
        announces=Q(folder__name__iexact="INBOX"),
    )


def _quiet_since(sub: GraphSubscription) -> datetime | None:
    # A subscription made after the last notification (subscriptionRemoved, an expiry) starts its own clock.
    return max((t for t in (sub.last_notification_at, sub.created_at) if t is not None), default=None)


def poll_found_mail(channel: Channel, *, imported_since: datetime) -> None:
    """A scheduled poll imported mail: if the channel's subscription let Inbox mail arrive unannounced,
    tell staff, once, and poll the channel every pass until a notification arrives again."""
    if not graph_push_wanted(channel):
        return
    push_silence_check(
        channel,
        rows=subscriptions_held().filter(channel=channel),
        quiet_since=_quiet_since,
        path=_graph_path(),
        imported_since=imported_since,
    )
