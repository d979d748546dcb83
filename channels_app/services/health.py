"""Running one request against a channel and deciding what its outcome means.

Every background operation (sync, probe, keep-alive, renewal) goes through
`run_check`, so all of them classify failures the same way:

- an auth failure moves the channel to needs_reauth at once and alerts the
  people who can fix it, in the same transaction;
- a passing failure is retried with backoff and only after a grace period shows
  the channel as unreachable;
- a configuration failure tells staff and company admins once;
- a success ends whatever incident was open.
"""

import logging
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from channels_app.models import Channel, ChannelStatus, NotificationKind, ReasonCode, User
from channels_app.providers import AuthFailure, AuthReason, ConfigurationFailure, PassingFailure
from channels_app.services.notifications import (
    alert_recipients,
    configuration_recipients,
    notify_follow_up,
    notify_problem,
    resolve_problems,
)
from channels_app.services.ratelimit import wait_for_request_slot
from channels_app.services.reconnect import channel_reconnected
from channels_app.services.status import channel_set_status

logger = logging.getLogger(__name__)


class LeaseLost(Exception):
    """Another worker took the channel over (our lease expired): stop without writing."""


REASON_CODES = {
    AuthReason.REJECTED: ReasonCode.REVOKED,
    AuthReason.DISUSE: ReasonCode.DISUSE,
    AuthReason.SUBSCRIPTION: ReasonCode.SUBSCRIPTION,
}


@dataclass(frozen=True)
class CheckResult:
    channel_id: int
    address: str
    outcome: str  # "ok" | "skipped" | "auth_failure" | "passing_failure" | "configuration_failure"
    detail: str

    def __str__(self) -> str:
        return f"{self.address}: {self.outcome} — {self.detail}"


@contextmanager
def channel_lease(channel_id: int, *, seconds: int) -> Iterator[str | None]:
    """Claim the channel for one worker, across processes and machines.

    A conditional UPDATE is atomic on every database: exactly one claimant sees
    one row changed. The lease expires on its own if its worker dies.
    """
    owner = uuid.uuid4().hex
    now = timezone.now()
    claimed = (
        Channel.objects.filter(pk=channel_id)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .update(lease_owner=owner, lease_until=now + timedelta(seconds=seconds))
    )
    try:
        yield owner if claimed else None
    finally:
        if claimed:
            Channel.objects.filter(pk=channel_id, lease_owner=owner).update(lease_owner="", lease_until=None)


def extend_lease(channel_id: int, owner: str, *, seconds: int) -> bool:
    """Keep a long job's lease alive; False if it was lost (then stop writing)."""
    return bool(
        Channel.objects.filter(pk=channel_id, lease_owner=owner).update(
            lease_until=timezone.now() + timedelta(seconds=seconds)
        )
    )


def _backoff(failures: int) -> timedelta:
    seconds = settings.BACKOFF_BASE_SECONDS * 2 ** max(failures - 1, 0)
    return timedelta(seconds=min(seconds, settings.BACKOFF_MAX_SECONDS))


def record_auth_failure(
    channel: Channel, failure: AuthFailure, *, cause: str, reason: AuthReason | None = None
) -> None:
    reason = reason or failure.reason
    now = timezone.now()
    with transaction.atomic():
        Channel.objects.filter(pk=channel.pk).update(
            last_checked_at=now,
            last_error=failure.message,
            failing_since=None,
            consecutive_failures=0,
            # Providers ban addresses that keep failing logins: only a slow check from now on.
            next_attempt_at=now + timedelta(minutes=settings.SLOW_CHECK_MINUTES),
        )
        event = channel_set_status(
            channel=channel,
            status=ChannelStatus.NEEDS_REAUTH,
            reason=reason.value,
            reason_code=REASON_CODES[reason],
            cause=cause,
        )
        if event is not None:
            notify_problem(
                channel=channel, kind=NotificationKind.NEEDS_REAUTH, recipients=alert_recipients(channel), detail=reason
            )


def record_passing_failure(channel: Channel, failure: PassingFailure, *, cause: str) -> None:
    now = timezone.now()
    with transaction.atomic():
        locked = Channel.objects.select_for_update().get(pk=channel.pk)
        failing_since = locked.failing_since or now
        failures = locked.consecutive_failures + 1
        delay = _backoff(failures)
        if locked.status == ChannelStatus.NEEDS_REAUTH:
            delay = max(delay, timedelta(minutes=settings.SLOW_CHECK_MINUTES))
        Channel.objects.filter(pk=channel.pk).update(
            last_checked_at=now,
            last_error=failure.message,
            failing_since=failing_since,
            consecutive_failures=failures,
            next_attempt_at=now + delay,
        )
        grace = timedelta(minutes=settings.UNREACHABLE_GRACE_MINUTES)
        if locked.status == ChannelStatus.ACTIVE and now - failing_since >= grace:
            since = timezone.localtime(failing_since).strftime("%H:%M")
            event = channel_set_status(
                channel=channel,
                status=ChannelStatus.UNREACHABLE,
                reason=f"Unreachable since {since}: {failure.message}",
                reason_code=ReasonCode.OUTAGE,
                cause=cause,
            )
            if event is not None:
                notify_problem(channel=channel, kind=NotificationKind.UNREACHABLE, recipients=alert_recipients(channel))


def record_configuration_failure(channel: Channel, failure: ConfigurationFailure, *, cause: str) -> None:
    now = timezone.now()
    with transaction.atomic():
        locked = Channel.objects.select_for_update().get(pk=channel.pk)
        failures = locked.consecutive_failures + 1
        Channel.objects.filter(pk=channel.pk).update(
            last_checked_at=now,
            last_error=failure.message,
            configuration_error=failure.message,
            consecutive_failures=failures,
            next_attempt_at=now + _backoff(failures),
        )
        if not locked.configuration_error:
            notify_problem(
                channel=channel,
                kind=NotificationKind.CONFIGURATION,
                recipients=configuration_recipients(channel),
                detail=failure.message,
            )


def record_success(channel: Channel, *, cause: str) -> bool:
    """Close whatever incident was open; True when the channel came back (the caller then starts a
    backfill, once it has released the channel's lease so the backfill can take it)."""
    now = timezone.now()
    with transaction.atomic():
        locked = Channel.objects.select_for_update().get(pk=channel.pk)
        Channel.objects.filter(pk=channel.pk).update(
            last_checked_at=now,
            last_error="",
            failing_since=None,
            consecutive_failures=0,
            next_attempt_at=None,
            configuration_error="",
        )
        if locked.configuration_error:
            notify_follow_up(
                channel=channel,
                kind=NotificationKind.RECOVERED,
                recipients=resolve_problems(channel=channel, kinds=(NotificationKind.CONFIGURATION,)),
                text=f"{channel.address} syncs again: the provider settings were fixed.",
            )
        if locked.status in (ChannelStatus.UNREACHABLE, ChannelStatus.NEEDS_REAUTH):
            came_back = "is reachable again" if locked.status == ChannelStatus.UNREACHABLE else "works again"
            channel_set_status(
                channel=channel, status=ChannelStatus.ACTIVE, reason=f"The connection {came_back}.", cause=cause
            )
            notify_follow_up(
                channel=channel,
                kind=NotificationKind.RECOVERED,
                recipients=resolve_problems(
                    channel=channel, kinds=(NotificationKind.UNREACHABLE, NotificationKind.NEEDS_REAUTH)
                ),
                text=f"{channel.address} {came_back}; nothing needs doing.",
            )
            return True
    return False


def run_check(
    channel_id: int,
    operation: Callable[[Channel], str],
    *,
    cause: str,
    respect_backoff: bool = True,
    auth_reason: AuthReason | None = None,
) -> CheckResult:
    """Run `operation` on the channel under its lease and record what its outcome means."""
    with channel_lease(channel_id, seconds=settings.CHANNEL_LEASE_SECONDS) as lease:
        channel = Channel.objects.select_related("inbox").get(pk=channel_id)
        if lease is None:
            return CheckResult(channel_id, channel.address, "skipped", "another worker is busy with this channel")
        if channel.status == ChannelStatus.DISCONNECTED:
            return CheckResult(channel_id, channel.address, "skipped", "disconnected")
        if respect_backoff and channel.next_attempt_at and channel.next_attempt_at > timezone.now():
            when = timezone.localtime(channel.next_attempt_at).strftime("%H:%M:%S")
            return CheckResult(channel_id, channel.address, "skipped", f"next attempt at {when}")
        channel.lease_owner = lease
        wait_for_request_slot(channel.provider)
        try:
            detail = operation(channel)
        except AuthFailure as failure:
            record_auth_failure(channel, failure, cause=cause, reason=auth_reason)
            return CheckResult(channel_id, channel.address, "auth_failure", failure.message)
        except PassingFailure as failure:
            record_passing_failure(channel, failure, cause=cause)
            return CheckResult(channel_id, channel.address, "passing_failure", failure.message)
        except ConfigurationFailure as failure:
            record_configuration_failure(channel, failure, cause=cause)
            return CheckResult(channel_id, channel.address, "configuration_failure", failure.message)
        except LeaseLost:
            # Our lease ran out mid-job and another worker took over; what we wrote is whole batches.
            return CheckResult(channel_id, channel.address, "skipped", "lease lost to another worker")
        recovered = record_success(channel, cause=cause)
    if recovered:
        channel_reconnected(channel_id=channel_id, actor_id=None)
    return CheckResult(channel_id, channel.address, "ok", detail)


def channel_mark_for_reauthorization(*, channel: Channel, actor: User) -> None:
    """Staff declare a channel's access broken (e.g. the customer told support): same path as a failed login."""
    failure = AuthFailure(f"Marked for reauthorization by staff ({actor}).")
    record_auth_failure(channel, failure, cause=f"staff action by {actor}")
