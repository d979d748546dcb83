"""django-q2 entry points. Each takes ids, calls a service, and returns a line for the task log.

The passes run on schedules (`manage.py ensure_schedules`) and fan out one
small task per FANOUT_BATCH_SIZE due channels (`run_batch`), so many workers
share the work and one slow mailbox holds up only its batch.
"""

import logging
import random
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.utils import timezone
from django_q.models import Schedule
from django_q.tasks import async_task

from channels_app.metrics import MailPath
from channels_app.models import Channel
from channels_app.providers import ReasonCode, get_provider
from channels_app.selectors.backfill import open_backfill
from channels_app.selectors.due import channels_to_probe, channels_to_sync, live_channels_where
from channels_app.selectors.subscriptions import channels_without_subscription
from channels_app.services import gmail_push, graph_push, operations
from channels_app.services.backfill import backfill_fail
from channels_app.services.emails import notification_email_send, notification_emails_retry
from channels_app.services.health import CheckOutcome, run_check

logger = logging.getLogger(__name__)


def sync_channel(channel_id: int, respect_backoff: bool = True) -> str:
    return str(run_check(channel_id, operations.poll, cause="sync task", respect_backoff=respect_backoff))


def _run_waiting(
    channel_id: int,
    operation: Callable[[Channel], str],
    *,
    cause: str,
    wait_seconds: int,
    respect_backoff: bool = False,
    auth_reason: ReasonCode | None = None,
) -> str:
    """Run now, waiting up to `wait_seconds` for a sync already running on the channel to finish: that one
    may have listed the folder before the mail we were told about arrived, so skipping ours could leave it
    for the next poll."""
    deadline = time.monotonic() + wait_seconds
    while True:
        result = run_check(channel_id, operation, cause=cause, respect_backoff=respect_backoff, auth_reason=auth_reason)
        if result.outcome != CheckOutcome.BUSY or time.monotonic() > deadline:
            return str(result)
        time.sleep(0.2)


# A busy backfill tries again this much later. django-q2 has no delayed async_task: the next try is a
# one-off Schedule (run by the cluster's scheduler, so possibly later still), and no worker sleeps meanwhile.
BACKFILL_RETRY_SECONDS = 10
BACKFILL_GAVE_UP = "Another sync kept the channel busy; the next scheduled sync continues this import."


def backfill_channel(channel_id: int, tries: int = 1) -> str:
    """Sync right after a reconnect. While a sync already running holds the channel (it may have listed the
    folders before the reconnect), try again BACKFILL_RETRY_SECONDS later, for BACKFILL_WAIT_SECONDS in all
    (`tries` counts them); then say on the backfill that it waits for the next scheduled sync."""
    result = run_check(channel_id, operations.sync, cause="backfill task", respect_backoff=False)
    if result.outcome != CheckOutcome.BUSY:
        return str(result)
    if tries * BACKFILL_RETRY_SECONDS < settings.BACKFILL_WAIT_SECONDS:
        Schedule.objects.create(
            name=f"backfill-{channel_id}",
            func="channels_app.tasks.backfill_channel",
            args=f"{channel_id}, {tries + 1}",
            schedule_type=Schedule.ONCE,
            repeats=-1,  # a ONCE schedule with negative repeats deletes itself once it has run
            next_run=timezone.now() + timedelta(seconds=BACKFILL_RETRY_SECONDS),
        )
        return f"{result}; try {tries + 1} in {BACKFILL_RETRY_SECONDS} s"
    backfill = open_backfill(Channel(pk=channel_id))
    if backfill is not None:
        backfill_fail(backfill, BACKFILL_GAVE_UP)
    return f"{result}; gave up after {tries} tries"


def gmail_push_channel(channel_id: int, history_id: int) -> str:
    """Import what a Gmail push announced. A sync already running may have started before the new mail
    arrived, so the push waits for it and reads again rather than being dropped as busy."""

    def work(channel: Channel) -> str:
        return gmail_push.push_import(channel, history_id, sync=partial(operations.sync, push=MailPath.GMAIL_PUSH))

    return _run_waiting(channel_id, work, cause="Gmail push", wait_seconds=settings.BACKFILL_WAIT_SECONDS)


def new_mail_channel(channel_id: int) -> str:
    """Sync because the server announced new mail (the IDLE listener); a channel in backoff waits for it."""
    return _run_waiting(
        channel_id,
        partial(operations.sync, push=MailPath.IDLE),
        cause="new mail announced",
        wait_seconds=settings.BACKFILL_WAIT_SECONDS,
        respect_backoff=True,
    )


def probe_channel(channel_id: int, respect_backoff: bool = True) -> str:
    return str(run_check(channel_id, operations.probe, cause="probe task", respect_backoff=respect_backoff))


def keep_alive_channel(channel_id: int) -> str:
    return str(run_check(channel_id, operations.keep_alive, cause="keep-alive task"))


def renew_subscription_channel(channel_id: int) -> str:
    # A refusal here is the provider declining to renew our subscription (reason 4 in the help article).
    return str(
        run_check(channel_id, operations.renew_subscription, cause="renewal task", auth_reason=ReasonCode.SUBSCRIPTION)
    )


def push_sync_channel(channel_id: int) -> str:
    """A push (a Graph notification) says new mail is there: sync now. A sync already running on the channel
    (a poll) may have listed the folder before the mail arrived, so wait for it to end and sync after it."""
    return _run_waiting(
        channel_id,
        partial(operations.sync, push=MailPath.GRAPH),
        cause="push notification",
        wait_seconds=settings.PUSH_SYNC_WAIT_SECONDS,
    )


def graph_lifecycle_channel(channel_id: int, event: str) -> str:
    """A Graph lifecycle event for the channel's subscription (graph_push.LifecycleEvent)."""
    if event == graph_push.LifecycleEvent.MISSED:
        # Notifications were lost: a full incremental sync finds whatever they were about.
        return push_sync_channel(channel_id)
    operation = graph_push.or_polling(
        graph_push.subscription_reauthorize
        if event == graph_push.LifecycleEvent.REAUTHORIZATION_REQUIRED
        else graph_push.subscription_recreate
    )
    return str(run_check(channel_id, operation, cause=f"Graph {event}", auth_reason=ReasonCode.SUBSCRIPTION))


def subscribe_channel(channel_id: int) -> str:
    """Make (or renew) the channel's push subscription now, after a connect or a reconnect. The backfill
    that a reconnect starts holds the channel at that very moment: wait for it rather than answer busy and
    leave the channel without push until the hourly renewal pass."""
    return _run_waiting(
        channel_id,
        operations.renew_subscription,
        cause="renewal task",
        wait_seconds=settings.BACKFILL_WAIT_SECONDS,
        auth_reason=ReasonCode.SUBSCRIPTION,
    )


def check_each(run_one: Callable[[int], str], channel_ids: Iterable[int]) -> Iterator[tuple[int, str]]:
    """Each channel's line, in turn. `run_check` records a crash in the operation itself; this is the last
    line of defence for anything else one channel raises, so it never stops the pass over the others."""
    for channel_id in channel_ids:
        try:
            line = run_one(channel_id)
        except Exception as error:
            logger.exception("Checking channel %s crashed outside its operation", channel_id)
            line = f"channel {channel_id}: crashed — {type(error).__name__} outside its check; see the log"
        yield channel_id, line


def run_batch(func: str, channel_ids: list[int]) -> str:
    """One small task for a few channels: fewer queue round trips than one task each, and one slow
    mailbox still delays only its batch. Each channel's own lease makes a repeated delivery harmless."""
    run_one = {
        "sync": sync_channel,
        "probe": probe_channel,
        "keep_alive": keep_alive_channel,
        "renewal": renew_subscription_channel,
    }[func]
    return "\n".join(line for _, line in check_each(run_one, channel_ids))


def _fan_out(func: str, ids: list[int]) -> str:
    # Shuffled, so the channels of one provider are not all at the head of the queue; the
    # per-provider rate limit then spreads the requests themselves over time.
    ids = list(ids)
    random.shuffle(ids)
    size = settings.FANOUT_BATCH_SIZE
    batches = [ids[start : start + size] for start in range(0, len(ids), size)]
    for batch in batches:
        async_task("channels_app.tasks.run_batch", func, batch, task_name=f"{func}-{batch[0]}-{len(batch)}")
    return f"queued {len(ids)} channel(s) in {len(batches)} task(s)"


def sync_pass() -> str:
    return _fan_out("sync", list(channels_to_sync().values_list("pk", flat=True)))


def probe_pass() -> str:
    return _fan_out("probe", list(channels_to_probe().values_list("pk", flat=True)))


def keep_alive_pass() -> str:
    due = live_channels_where(
        lambda c: get_provider(c.provider).uses_oauth and operations.keep_alive_due(c),
        ("provider", "token_refreshed_at", "created_at"),
    )
    return _fan_out("keep_alive", due)


def renewal_pass() -> str:
    due = live_channels_where(operations.renewal_due, ("provider", "subscription_renewed_at", "created_at"))
    # Microsoft channels without a live Graph subscription get one (a first attempt failed, Graph removed it).
    due += [pk for pk in channels_without_subscription() if pk not in due]
    return _fan_out("renewal", due)


def send_notification_email(notification_id: int) -> str:
    return str(notification_email_send(notification_id=notification_id))


def email_retry_pass() -> str:
    return notification_emails_retry()
