"""The scheduled passes pick the right channels and fan out one task each; the foreground commands report."""

import logging
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_q.models import Schedule

from channels_app.models import Channel, ChannelStatus
from channels_app.selectors.due import channels_to_probe, channels_to_sync
from channels_app.services.health import CheckOutcome, CheckResult
from channels_app.tasks import keep_alive_pass, renewal_pass, run_batch


def test_sync_covers_active_and_unreachable_channels_that_are_due(tenancy):
    shared, personal = tenancy.shared_channel, tenancy.member_channel
    Channel.objects.filter(pk=personal.pk).update(status=ChannelStatus.NEEDS_REAUTH)
    assert list(channels_to_sync()) == [shared]
    Channel.objects.filter(pk=shared.pk).update(
        status=ChannelStatus.UNREACHABLE, next_attempt_at=timezone.now() + timedelta(minutes=5)
    )
    assert list(channels_to_sync()) == []


def test_probe_includes_needs_reauth_only_when_its_slow_check_is_due(tenancy):
    personal = tenancy.member_channel
    Channel.objects.filter(pk=personal.pk).update(
        status=ChannelStatus.NEEDS_REAUTH, next_attempt_at=timezone.now() + timedelta(minutes=59)
    )
    Channel.objects.filter(pk=tenancy.shared_channel.pk).update(status=ChannelStatus.DISCONNECTED)
    assert list(channels_to_probe()) == []
    Channel.objects.filter(pk=personal.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    assert list(channels_to_probe()) == [personal]


def test_probe_skips_an_active_channel_that_signed_in_within_the_probe_interval(tenancy, settings):
    shared, personal = tenancy.shared_channel, tenancy.member_channel
    now = timezone.now()
    interval = timedelta(minutes=settings.PROBE_INTERVAL_MINUTES)
    Channel.objects.filter(pk=shared.pk).update(last_login_at=now - interval + timedelta(seconds=1))
    Channel.objects.filter(pk=personal.pk).update(last_login_at=now - interval - timedelta(seconds=1))
    assert list(channels_to_probe(now)) == [personal]


@pytest.mark.parametrize("status", [ChannelStatus.NEEDS_REAUTH, ChannelStatus.UNREACHABLE, ChannelStatus.BLOCKED])
def test_a_fresh_login_does_not_spare_the_probe_of_a_channel_that_is_not_active(tenancy, status):
    # Their probe is how they are noticed to recover (or are checked slowly): unchanged by a login that worked.
    shared = tenancy.shared_channel
    Channel.objects.filter(pk=tenancy.member_channel.pk).update(status=ChannelStatus.DISCONNECTED)
    Channel.objects.filter(pk=shared.pk).update(status=status, last_login_at=timezone.now())
    assert list(channels_to_probe()) == [shared]


def test_keep_alive_and_renewal_passes_pick_only_channels_that_are_due(tenancy, monkeypatch):
    queued: list[tuple[str, list[int]]] = []
    monkeypatch.setattr("channels_app.tasks.async_task", lambda _, func, ids, **kw: queued.append((func, ids)))
    old = timezone.now() - timedelta(days=30)
    Channel.objects.filter(pk=tenancy.shared_channel.pk).update(token_refreshed_at=old, subscription_renewed_at=old)
    Channel.objects.filter(pk=tenancy.member_channel.pk).update(
        token_refreshed_at=timezone.now(), subscription_renewed_at=timezone.now()
    )
    assert keep_alive_pass() == "queued 1 channel(s) in 1 task(s)"
    assert renewal_pass() == "queued 1 channel(s) in 1 task(s)"
    assert queued == [("keep_alive", [tenancy.shared_channel.pk]), ("renewal", [tenancy.shared_channel.pk])]


def test_ensure_schedules_is_idempotent(db, settings):
    call_command("ensure_schedules")
    settings.PROBE_INTERVAL_MINUTES = 7
    call_command("ensure_schedules")
    assert Schedule.objects.count() == 5
    assert Schedule.objects.get(name="probe pass").minutes == 7
    assert Schedule.objects.get(name="email retry pass").func == "channels_app.tasks.email_retry_pass"
    assert Schedule.objects.get(name="email retry pass").minutes == 1


@pytest.mark.local_provider
def test_sync_channels_command_prints_a_line_per_channel(tenancy, make_mailbox, connect_local, capsys):
    connect_local(tenancy.shared_channel, make_mailbox())
    Channel.objects.filter(pk=tenancy.member_channel.pk).update(status=ChannelStatus.DISCONNECTED)
    call_command("sync_channels")
    out = capsys.readouterr().out
    assert "ok — imported 0 new message(s)" in out and "1 channel(s) done." in out


@pytest.mark.local_provider
def test_probe_channels_command_for_one_channel(tenancy, make_mailbox, connect_local, capsys):
    channel = connect_local(tenancy.shared_channel, make_mailbox())
    call_command("probe_channels", "--channel", str(channel.pk))
    assert f"[{channel.pk}] {channel.address}: ok — credentials work" in capsys.readouterr().out


def test_unknown_channel_is_a_clear_error(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="no channel 999"):
        call_command("probe_channels", "--channel", "999")


@pytest.fixture
def check_fails_for_the_shared_channel(tenancy, monkeypatch):
    """`run_check` itself raises for one channel (a bug before or after its operation); the others succeed."""

    def run_check(channel_id: int, operation, *, cause: str, **kwargs) -> CheckResult:
        if channel_id == tenancy.shared_channel.pk:
            raise RuntimeError("database said no")
        return CheckResult(channel_id, "member@acme.test", CheckOutcome.OK, cause)

    monkeypatch.setattr("channels_app.tasks.run_check", run_check)
    return tenancy.shared_channel.pk, tenancy.member_channel.pk


def test_a_batch_goes_on_past_a_channel_whose_check_raises(check_fails_for_the_shared_channel, caplog):
    bad, good = check_fails_for_the_shared_channel
    lines = run_batch("sync", [bad, good]).splitlines()
    assert lines == [
        f"channel {bad}: crashed — RuntimeError outside its check; see the log",
        "member@acme.test: ok — sync task",
    ]
    [logged] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert logged.exc_info is not None and logged.exc_info[0] is RuntimeError


@pytest.mark.parametrize("command", ["sync_channels", "probe_channels"])
def test_the_foreground_passes_go_on_past_a_channel_whose_check_raises(
    check_fails_for_the_shared_channel, command, capsys
):
    bad, good = check_fails_for_the_shared_channel
    call_command(command)
    out = capsys.readouterr().out
    assert f"[{bad}] channel {bad}: crashed — RuntimeError" in out
    assert f"[{good}] member@acme.test: ok" in out
    assert "2 channel(s) done." in out


@pytest.fixture
def busy(tenancy, monkeypatch):
    """Another worker holds the shared channel's lease; waiting in this worker would fail the test."""

    def run_check(channel_id: int, operation, *, cause: str, **kwargs) -> CheckResult:
        return CheckResult(channel_id, "shared@acme.test", CheckOutcome.BUSY, "another worker is busy")

    def no_sleep(seconds: float) -> None:
        raise AssertionError(f"the backfill task slept {seconds} s in its worker")

    monkeypatch.setattr("channels_app.tasks.run_check", run_check)
    monkeypatch.setattr("channels_app.tasks.time.sleep", no_sleep)
    return tenancy.shared_channel


def test_a_busy_backfill_is_scheduled_again_shortly_instead_of_holding_its_worker(busy, monkeypatch):
    from channels_app.tasks import BACKFILL_RETRY_SECONDS, backfill_channel

    frozen = timezone.now()
    monkeypatch.setattr(timezone, "now", lambda: frozen)
    assert backfill_channel(busy.pk).endswith(f"; try 2 in {BACKFILL_RETRY_SECONDS} s")
    [again] = Schedule.objects.filter(func="channels_app.tasks.backfill_channel")
    assert (again.args, again.schedule_type, again.repeats) == (f"{busy.pk}, 2", Schedule.ONCE, -1)
    assert again.next_run == frozen + timedelta(seconds=BACKFILL_RETRY_SECONDS)


def test_a_backfill_busy_for_its_whole_wait_gives_up_and_says_so_on_the_backfill(busy, settings):
    from channels_app.models import Backfill
    from channels_app.selectors.backfill import backfill_progress
    from channels_app.tasks import BACKFILL_GAVE_UP, BACKFILL_RETRY_SECONDS, backfill_channel

    settings.BACKFILL_WAIT_SECONDS = 3 * BACKFILL_RETRY_SECONDS
    backfill = Backfill.objects.create(channel=busy)
    assert backfill_channel(busy.pk, 2).endswith(f"; try 3 in {BACKFILL_RETRY_SECONDS} s")
    assert backfill_channel(busy.pk, 3).endswith("; gave up after 3 tries")
    assert Schedule.objects.filter(func="channels_app.tasks.backfill_channel").count() == 1  # none after the 3rd
    backfill.refresh_from_db()
    assert backfill.error == BACKFILL_GAVE_UP
    assert (backfill_progress(backfill).state, backfill_progress(backfill).reason) == ("waiting", BACKFILL_GAVE_UP)
