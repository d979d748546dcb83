"""Running one request against a channel and deciding what its outcome means.

Every background operation (sync, probe, keep-alive, renewal) goes through
`run_check`, so all of them classify failures the same way:

- an auth failure moves the channel to needs_reauth at once and alerts the
  people who can fix it by reauthorizing, in the same transaction;
- a policy failure (the customer's provider administrator blocks us) moves it to
  blocked and tells the same people what to ask their IT administrator;
- a passing failure is retried with backoff (at least as long as the provider's
  Retry-After) and only after a grace period shows the channel as unreachable;
  an answer we do not recognise is passing too, and staff are shown it;
- a configuration failure tells staff and company admins once;
- any other exception from the operation (a bug of ours, a message we cannot
  handle) is a crash: backed off like a passing failure, logged with its
  traceback, and told to staff once per incident by its type alone, so one
  channel never stops a pass over the others;
- a success ends whatever incident was open.
"""

import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from channels_app import metrics
from channels_app.models import Channel, ChannelStatus, NotificationKind, ReasonCode, User
from channels_app.providers import (
    AuthFailure,
    ConfigurationFailure,
    FailureKind,
    PassingFailure,
    PolicyFailure,
    ProviderFailure,
    get_provider,
)
from channels_app.services.lease import LeaseLost, channel_lease
from channels_app.services.notifications import (
    alert_recipients,
    blocked_text,
    configuration_recipients,
    crash_text,
    delegate_note,
    notify_follow_up,
    notify_problem,
    problem_text,
    resolve_problems,
    staff_recipients,
    unrecognised_text,
)
from channels_app.services.organisation_health import organisation_channel_failed, organisation_channel_worked
from channels_app.services.ratelimit import wait_for_request_slot
from channels_app.services.reconnect import channel_reconnected
from channels_app.services.status import channel_set_status
from channels_app.times import moment_text, zone_name

logger = logging.getLogger(__name__)


class CheckOutcome(enum.StrEnum):
    OK = "ok"
    SKIPPED = "skipped"
    # Another worker holds the channel's lease right now.
    BUSY = "busy"
    AUTH_FAILURE = "auth_failure"
    POLICY_FAILURE = "policy_failure"
    CONFIGURATION_FAILURE = "configuration_failure"
    PASSING_FAILURE = "passing_failure"
    # Our own code raised: recorded on the channel, and the pass goes on.
    CRASHED = "crashed"


FAILURE_OUTCOMES = {
    FailureKind.AUTH: CheckOutcome.AUTH_FAILURE,
    FailureKind.POLICY: CheckOutcome.POLICY_FAILURE,
    FailureKind.CONFIGURATION: CheckOutcome.CONFIGURATION_FAILURE,
    FailureKind.PASSING: CheckOutcome.PASSING_FAILURE,
}


@dataclass(frozen=True)
class CheckResult:
    channel_id: int
    address: str
    outcome: CheckOutcome
    detail: str

    def __str__(self) -> str:
        return f"{self.address}: {self.outcome} — {self.detail}"


def _backoff(failures: int) -> timedelta:
    seconds = settings.BACKOFF_BASE_SECONDS * 2 ** max(failures - 1, 0)
    return timedelta(seconds=min(seconds, settings.BACKOFF_MAX_SECONDS))


def _retry_delay(status: str, failures: int, retry_after: int = 0) -> timedelta:
    delay = max(_backoff(failures), timedelta(seconds=retry_after))
    if status in (ChannelStatus.NEEDS_REAUTH, ChannelStatus.BLOCKED):
        # Providers ban addresses that keep failing logins: no faster than the slow check.
        delay = max(delay, timedelta(minutes=settings.SLOW_CHECK_MINUTES))
    return delay


def _note_failure(channel: Channel, failure: ProviderFailure, now: datetime, **fields: object) -> None:
    Channel.objects.filter(pk=channel.pk).update(
        last_checked_at=now, last_error=failure.message, last_error_code=failure.code, **fields
    )


def _stop_until_fixed(
    channel: Channel,
    failure: ProviderFailure,
    *,
    cause: str,
    status: ChannelStatus,
    reason: str,
    reason_code: ReasonCode,
    kind: NotificationKind,
    text: str = "",
) -> None:
    """A failure someone must act on: the channel's new status and its alert, in one transaction."""
    now = timezone.now()
    with transaction.atomic():
        _note_failure(
            channel,
            failure,
            now,
            failing_since=None,
            consecutive_failures=0,
            # Providers ban addresses that keep failing logins: only a slow check from now on.
            next_attempt_at=now + timedelta(minutes=settings.SLOW_CHECK_MINUTES),
        )
        event = channel_set_status(
            channel=channel,
            status=status,
            reason=reason,
            reason_code=reason_code,
            cause=cause,
            provider_code=failure.code,
        )
        if event is not None:
            # A custom text says it all already; the usual sentence is followed by the reason.
            detail = "" if text else reason
            notify_problem(channel=channel, kind=kind, recipients=alert_recipients(channel), detail=detail, text=text)


def staff_requested(channel: Channel) -> bool:
    """Our support asked for this channel to be reauthorized (Django admin): until a person reauthorizes it,
    no check's answer replaces that, neither a success nor a refusal read as "access was revoked"."""
    return Channel.objects.filter(
        pk=channel.pk, status=ChannelStatus.NEEDS_REAUTH, reason_code=ReasonCode.STAFF_REQUEST
    ).exists()


def record_auth_failure(
    channel: Channel, failure: AuthFailure, *, cause: str, reason: ReasonCode | None = None
) -> None:
    reason = ReasonCode.STAFF_REQUEST if staff_requested(channel) else (reason or failure.reason)
    # A shared mailbox's alert names the delegate whose access ended and says anyone else can take over; one
    # our support asked for says so, as nobody would otherwise know why a working channel needs it.
    note = delegate_note(channel)
    said = note or reason is ReasonCode.STAFF_REQUEST
    _stop_until_fixed(
        channel,
        failure,
        cause=cause,
        status=ChannelStatus.NEEDS_REAUTH,
        reason=f"{reason.text} {note}".strip()[:500],
        reason_code=reason,
        kind=NotificationKind.NEEDS_REAUTH,
        text=f"{problem_text(channel, NotificationKind.NEEDS_REAUTH)} {reason.text} {note}".strip() if said else "",
    )


def record_policy_failure(channel: Channel, failure: PolicyFailure, *, cause: str) -> None:
    """Blocked by the customer's provider administrator: tell the people who would reauthorize, in the
    provider's words and with what to ask their IT administrator, and keep checking slowly."""
    label = get_provider(channel.provider).label
    words = f" {label} says: “{failure.provider_words}”" if failure.provider_words else ""
    _stop_until_fixed(
        channel,
        failure,
        cause=cause,
        status=ChannelStatus.BLOCKED,
        reason=f"{failure.message}{words} Ask your IT administrator to {failure.admin_action}."[:500],
        reason_code=ReasonCode.POLICY,
        kind=NotificationKind.BLOCKED,
        text=blocked_text(channel, failure),
    )


def record_passing_failure(channel: Channel, failure: PassingFailure, *, cause: str) -> None:
    now = timezone.now()
    with transaction.atomic():
        locked = Channel.objects.select_for_update().get(pk=channel.pk)
        failing_since = locked.failing_since or now
        failures = locked.consecutive_failures + 1
        _note_failure(
            channel,
            failure,
            now,
            failing_since=failing_since,
            consecutive_failures=failures,
            next_attempt_at=now + _retry_delay(locked.status, failures, failure.retry_after or 0),
        )
        if failure.unrecognised:
            # Nobody outside staff can act on an answer we do not understand; staff teach the provider module.
            notify_problem(
                channel=channel,
                kind=NotificationKind.UNRECOGNISED,
                recipients=staff_recipients(),
                text=unrecognised_text(channel, failure),
            )
        grace = timedelta(minutes=settings.UNREACHABLE_GRACE_MINUTES)
        # Throttling (rate, connection or download limits) is the provider pacing us, not an outage.
        if locked.status == ChannelStatus.ACTIVE and not failure.throttled and now - failing_since >= grace:
            # Stored and shown to people in other zones: the time names its zone.
            since = f"{moment_text(failing_since, now, today_bare=True)} {zone_name()}"
            event = channel_set_status(
                channel=channel,
                status=ChannelStatus.UNREACHABLE,
                reason=f"Unreachable since {since}: {failure.message}",
                reason_code=ReasonCode.OUTAGE,
                cause=cause,
                provider_code=failure.code,
            )
            if event is not None:
                notify_problem(channel=channel, kind=NotificationKind.UNREACHABLE, recipients=alert_recipients(channel))


def record_configuration_failure(channel: Channel, failure: ConfigurationFailure, *, cause: str) -> None:
    now = timezone.now()
    with transaction.atomic():
        locked = Channel.objects.select_for_update().get(pk=channel.pk)
        failures = locked.consecutive_failures + 1
        _note_failure(
            channel,
            failure,
            now,
            configuration_error=failure.message,
            consecutive_failures=failures,
            next_attempt_at=now + _backoff(failures),
        )
        if not locked.configuration_error:
            code = f" (the provider answered {failure.code})" if failure.code else ""
            notify_problem(
                channel=channel,
                kind=NotificationKind.CONFIGURATION,
                recipients=configuration_recipients(channel),
                detail=f"{failure.message}{code}",
            )


def record_failure(
    channel: Channel, failure: ProviderFailure, *, cause: str, auth_reason: ReasonCode | None = None
) -> None:
    """Route a classified failure to the people who can act on it, and nobody else."""
    if channel.organisation_connection_id is not None and isinstance(failure, AuthFailure | PolicyFailure):
        # Nobody who owns the channel can fix a grant of the organisation's: one company incident instead.
        organisation_channel_failed(channel, failure, cause=cause)
    elif isinstance(failure, AuthFailure):
        record_auth_failure(channel, failure, cause=cause, reason=auth_reason)
    elif isinstance(failure, PolicyFailure):
        record_policy_failure(channel, failure, cause=cause)
    elif isinstance(failure, ConfigurationFailure):
        record_configuration_failure(channel, failure, cause=cause)
    elif isinstance(failure, PassingFailure):
        record_passing_failure(channel, failure, cause=cause)


def record_crash(channel: Channel, error: Exception, *, cause: str) -> None:
    """Our own code stopped on the channel: retry with the passing failures' backoff, log the start of the
    incident (the status stays) and tell staff once. Only the exception's type is written anywhere: its
    text may carry a customer's mail or a token."""
    name = type(error).__name__
    now = timezone.now()
    with transaction.atomic():
        locked = Channel.objects.select_for_update().get(pk=channel.pk)
        failures = locked.consecutive_failures + 1
        Channel.objects.filter(pk=channel.pk).update(
            last_checked_at=now,
            last_error=f"Stopped by an internal error ({name}).",
            last_error_code=f"crash: {name}"[:100],
            consecutive_failures=failures,
            next_attempt_at=now + _retry_delay(locked.status, failures),
        )
        if locked.reason_code != ReasonCode.CRASH:
            channel_set_status(
                channel=channel,
                status=ChannelStatus(locked.status),
                reason=f"Stopped by an internal error ({name}); our staff were told.",
                reason_code=ReasonCode.CRASH,
                cause=cause,
                log_unchanged=True,
            )
        notify_problem(
            channel=channel,
            kind=NotificationKind.CRASH,
            recipients=staff_recipients(),
            text=crash_text(channel, error, cause=cause),
        )


def record_success(channel: Channel, *, cause: str) -> datetime | None:
    """Close whatever incident was open; when the channel came back, when it had stopped syncing (the
    caller then starts a backfill, once it has released the channel's lease so the backfill can take it)."""
    now = timezone.now()
    with transaction.atomic():
        locked = Channel.objects.select_for_update().get(pk=channel.pk)
        Channel.objects.filter(pk=channel.pk).update(
            last_checked_at=now,
            last_error="",
            last_error_code="",
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
        resolve_problems(channel=channel, kinds=(NotificationKind.UNRECOGNISED, NotificationKind.CRASH))
        if locked.status == ChannelStatus.NEEDS_REAUTH and locked.reason_code == ReasonCode.STAFF_REQUEST:
            return None  # our support asked for a reauthorization: only a person's reauthorizing ends it
        if locked.status in (ChannelStatus.UNREACHABLE, ChannelStatus.NEEDS_REAUTH, ChannelStatus.BLOCKED):
            came_back = "is reachable again" if locked.status == ChannelStatus.UNREACHABLE else "works again"
            # Unreachable: mail stopped at the first of the failures; otherwise at the status change.
            stopped = locked.failing_since if locked.status == ChannelStatus.UNREACHABLE else locked.status_since
            channel_set_status(
                channel=channel, status=ChannelStatus.ACTIVE, reason=f"The connection {came_back}.", cause=cause
            )
            notify_follow_up(
                channel=channel,
                kind=NotificationKind.RECOVERED,
                recipients=resolve_problems(
                    channel=channel,
                    kinds=(NotificationKind.UNREACHABLE, NotificationKind.NEEDS_REAUTH, NotificationKind.BLOCKED),
                ),
                text=f"{channel.address} {came_back}; nothing needs doing.",
            )
            return stopped or locked.status_since
        if locked.reason_code == ReasonCode.CRASH:
            channel_set_status(
                channel=channel,
                status=ChannelStatus(locked.status),
                reason="Working again after an internal error.",
                cause=cause,
                log_unchanged=True,
            )
    return None


def run_check(
    channel_id: int,
    operation: Callable[[Channel], str],
    *,
    cause: str,
    respect_backoff: bool = True,
    auth_reason: ReasonCode | None = None,
) -> CheckResult:
    """Run `operation` on the channel under its lease and record what its outcome means."""
    with channel_lease(channel_id) as lease:
        channel = Channel.objects.select_related("inbox").filter(pk=channel_id).first()
        if channel is None:  # removed (services/connect.channel_remove) after this job was queued
            return CheckResult(channel_id, "", CheckOutcome.SKIPPED, "removed")
        if lease is None:
            return CheckResult(
                channel_id, channel.address, CheckOutcome.BUSY, "another worker is busy with this channel"
            )
        if channel.status == ChannelStatus.DISCONNECTED:
            return CheckResult(channel_id, channel.address, CheckOutcome.SKIPPED, "disconnected")
        if respect_backoff and channel.next_attempt_at and channel.next_attempt_at > timezone.now():
            when = timezone.localtime(channel.next_attempt_at).strftime("%H:%M:%S")
            return CheckResult(channel_id, channel.address, CheckOutcome.SKIPPED, f"next attempt at {when}")
        channel.lease_owner = lease
        wait_for_request_slot(channel.provider)
        try:
            detail = operation(channel)
        except ProviderFailure as failure:
            metrics.failure(failure.kind.value, channel.provider, failure.code)
            record_failure(channel, failure, cause=cause, auth_reason=auth_reason)
            detail = f"{failure.message} ({failure.code})" if failure.code else failure.message
            return CheckResult(channel_id, channel.address, FAILURE_OUTCOMES[failure.kind], detail)
        except LeaseLost:
            # Our lease ran out mid-job and another worker took over; what we wrote is whole batches.
            return CheckResult(channel_id, channel.address, CheckOutcome.SKIPPED, "lease lost to another worker")
        except Exception as error:
            # The traceback (with the exception's text) goes to our log only; the channel and staff get its type.
            logger.exception("The %s crashed on channel %s (%s)", cause, channel_id, channel.address)
            record_crash(channel, error, cause=cause)
            name = type(error).__name__
            metrics.failure("crash", channel.provider, name)
            return CheckResult(
                channel_id, channel.address, CheckOutcome.CRASHED, f"stopped by an internal error ({name})"
            )
        recovered = record_success(channel, cause=cause)
        if channel.organisation_connection_id is not None:
            organisation_channel_worked(channel)
    if recovered is not None:
        channel_reconnected(channel_id=channel_id, actor_id=None, incident_started_at=recovered)
    return CheckResult(channel_id, channel.address, CheckOutcome.OK, detail)


def channel_mark_for_reauthorization(*, channel: Channel, actor: User) -> None:
    """Staff declare a channel's access broken (e.g. the customer told support): same path as a failed login."""
    failure = AuthFailure("Marked for reauthorization by staff.", ReasonCode.STAFF_REQUEST)
    record_auth_failure(channel, failure, cause=f"staff action by {actor}")
