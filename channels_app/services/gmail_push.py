"""Gmail push: the watch on each Gmail channel, the pushes it brings, and noticing when they stop.

- `watch_renew` (the renewal operation of a Gmail channel while GMAIL_PUBSUB_TOPIC is set) calls
  users.watch; a refusal is classified like every other failure (providers/gmail/errors.py), and the
  renewal task records an auth failure with the subscription reason.
- `push_received` (the webhook, after verification) records the push and queues `push_import`, so
  the push is answered at once; a channel whose healthy IDLE a listener holds is synced by that listener
  over its connection instead (no login).
- `push_import` reads users.history.list from our history id: added messages are imported by the
  channel's own IMAP incremental sync (cursors per folder, inserts that skip stored messages, so a
  push and a poll that race neither lose nor double a message); a history id Gmail no longer holds
  (404) means the same sync without a shortcut, never a gap; a push announcing only other changes
  (labels, reads) costs no login.
- `poll_found_mail` (the scheduled poll) notices a watch that lets mail arrive unannounced, by the rule
  Graph's subscriptions share (services/push_silence.py).
"""

import enum
import logging
from collections.abc import Callable
from datetime import datetime

from django.db import transaction
from django.db.models import F
from django.db.models.functions import Greatest
from django.utils import timezone
from django_q.tasks import async_task

from channels_app.models import Channel, ChannelStatus, GmailWatch
from channels_app.providers import Credentials, ProviderFailure, get_provider
from channels_app.providers.gmail.api import HistoryTooOld
from channels_app.providers.gmail.provider import GmailProvider
from channels_app.services.idle_lease import idle_sync_request
from channels_app.services.mailbox import with_fresh_credentials
from channels_app.services.push_silence import PushPath, push_silence_check, push_silence_clear

logger = logging.getLogger(__name__)

# What staff are told when the watch goes silent (services/push_silence.py).
GMAIL_PUSH = PushPath(
    announcement="Gmail push",
    notifications="Gmail push notifications",
    advice="check the Pub/Sub push subscription of GMAIL_PUBSUB_TOPIC and its endpoint",
)


def gmail_provider(channel: Channel) -> GmailProvider | None:
    """The Gmail provider when this channel is watched: a Gmail channel, with a Pub/Sub topic configured."""
    provider = get_provider(channel.provider)
    return provider if isinstance(provider, GmailProvider) and provider.push_configured() else None


def watch_renew(channel: Channel, provider: GmailProvider) -> str:
    """users.watch (creating or renewing the watch); our history id is kept, so nothing is skipped."""
    answer = with_fresh_credentials(channel, provider.watch)
    now = timezone.now()
    with transaction.atomic():
        GmailWatch.objects.update_or_create(
            channel=channel,
            defaults={"expires_at": answer.expires_at, "renewed_at": now},
            create_defaults={"expires_at": answer.expires_at, "renewed_at": now, "history_id": answer.history_id},
        )
        Channel.objects.filter(pk=channel.pk).update(subscription_renewed_at=now)
    return f"Gmail watch renewed until {answer.expires_at:%Y-%m-%d %H:%M} UTC"


def watch_stop(channel: Channel, credentials: Credentials) -> None:
    """users.stop before the grant is given back (best effort: Gmail ends an unrenewed watch in 7 days anyway)."""
    provider = gmail_provider(channel)
    deleted, _ = GmailWatch.objects.filter(channel=channel).delete()
    if provider is None or not deleted or not credentials.access_token:
        return
    try:
        provider.stop_watch(credentials)
    except ProviderFailure as failure:
        logger.info("users.stop for channel %s: %s %s", channel.pk, failure.kind, failure.code)


class PushOutcome(enum.Enum):
    QUEUED = "queued"
    # No watched, active channel has this address: told apart from nothing by the webhook, on purpose.
    UNKNOWN = "unknown"


def push_received(*, address: str, history_id: int) -> PushOutcome:
    """Record the push on each watched channel of `address` and queue its import."""
    watches = GmailWatch.objects.filter(
        channel__provider="gmail",
        channel__address__iexact=address,
        channel__status__in=[ChannelStatus.ACTIVE, ChannelStatus.UNREACHABLE],
    ).select_related("channel")
    now = timezone.now()
    queued = False
    for watch in watches:
        if gmail_provider(watch.channel) is None:
            continue
        GmailWatch.objects.filter(pk=watch.pk).update(last_push_at=now, pushes=F("pushes") + 1)
        push_silence_clear(GmailWatch.objects.filter(pk=watch.pk), path=GMAIL_PUSH)
        channel_id = watch.channel_id
        transaction.on_commit(lambda channel_id=channel_id: _import_soon(channel_id, history_id))  # type: ignore[misc]
        queued = True
    return PushOutcome.QUEUED if queued else PushOutcome.UNKNOWN


def _import_soon(channel_id: int, history_id: int) -> None:
    """The listener holding the channel's healthy IDLE syncs over its connection, with no login; otherwise a
    worker runs `push_import`. A push handed over leaves our history id where it was: the next push read by a
    worker lists a little more history (or finds it too old and runs the full incremental sync), and the
    import's cursors skip what the listener stored."""
    if not idle_sync_request(channel_id=channel_id, now=timezone.now()):
        async_task("channels_app.tasks.gmail_push_channel", channel_id, history_id, task_name=f"push-{channel_id}")


def _advance(channel: Channel, history_id: int) -> None:
    # Never backwards: pushes may arrive out of order.
    GmailWatch.objects.filter(channel=channel).update(history_id=Greatest(F("history_id"), history_id))


def push_import(channel: Channel, history_id: int, *, sync: Callable[[Channel], str]) -> str:
    """The work a push asks for (run under the channel's lease by tasks.gmail_push_channel)."""
    provider = gmail_provider(channel)
    watch = GmailWatch.objects.filter(channel=channel).first()
    if provider is None or watch is None:
        return "not watched: the scheduled sync imports its mail"
    if history_id <= watch.history_id:
        return f"history {history_id} already read"
    try:
        history = with_fresh_credentials(channel, lambda c: provider.history_since(c, watch.history_id))
    except HistoryTooOld:
        done = sync(channel)
        _advance(channel, history_id)
        return f"history {watch.history_id} is too old for Gmail: full incremental sync, {done}"
    if history.messages_added == 0:
        _advance(channel, max(history.history_id, history_id))
        return "no new messages (other changes only)"
    done = sync(channel)
    _advance(channel, max(history.history_id, history_id))
    return f"{history.messages_added} added: {done}"


def poll_found_mail(channel: Channel, *, imported_since: datetime) -> None:
    """A scheduled poll imported mail: if the watch let it arrive unannounced, tell staff, once."""
    if gmail_provider(channel) is None:
        return
    push_silence_check(
        channel,
        rows=GmailWatch.objects.filter(channel=channel),
        quiet_since=lambda watch: watch.last_push_at or watch.created_at,
        path=GMAIL_PUSH,
        imported_since=imported_since,
    )
