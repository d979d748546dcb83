"""channels_app/metrics.py: what each metric counts, where it is observed, and how processes add up."""

import os
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from channels_app import metrics
from channels_app.metrics import MailPath
from channels_app.models import Channel, ChannelStatus
from channels_app.providers import AuthFailure, PassingFailure, ReasonCode
from channels_app.services import health, notifications
from channels_app.tasks import new_mail_channel, push_sync_channel, sync_channel
from localprovider import control

ROOT = Path(__file__).resolve().parent.parent


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _samples(text: bytes) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text.decode())
        for s in family.samples
    }


# --- channels by status and provider, from the database ---------------------------------------------


def test_channels_are_counted_by_status_and_provider_at_scrape_time(tenancy, make_inbox, make_channel):
    make_channel(inbox=make_inbox(workspace=tenancy.workspace), provider="microsoft", status=ChannelStatus.BLOCKED)
    found = _samples(metrics.exposition())
    assert found[("shared_inbox_channels", (("provider", "gmail"), ("status", "active")))] == 2
    assert found[("shared_inbox_channels", (("provider", "microsoft"), ("status", "blocked")))] == 1
    # Every pair is there, 0 when empty, so a status that empties reads 0 instead of vanishing.
    assert found[("shared_inbox_channels", (("provider", "imap"), ("status", "unreachable")))] == 0
    Channel.objects.filter(provider="microsoft").update(status=ChannelStatus.ACTIVE)
    found = _samples(metrics.exposition())
    assert found[("shared_inbox_channels", (("provider", "microsoft"), ("status", "blocked")))] == 0


def test_the_process_metrics_are_in_the_same_answer(db):
    text = metrics.exposition().decode()
    for name in (
        "shared_inbox_sync_duration_seconds",
        "shared_inbox_push_latency_seconds",
        "shared_inbox_alerts_sent_total",
        "shared_inbox_messages_imported_total",
        "shared_inbox_failures_total",
    ):
        assert f"# TYPE {name} " in text


# --- what processes observe --------------------------------------------------------------------------


def test_push_latency_is_each_stored_message_after_its_arrival():
    now = datetime(2026, 5, 1, 12, 0, 30, tzinfo=UTC)
    before = sample("shared_inbox_push_latency_seconds_bucket", provider="imap", path="idle", le="5.0")
    total = sample("shared_inbox_push_latency_seconds_sum", provider="imap", path="idle")
    # 3 s, 25 s, and a server clock 10 s ahead of ours (counted as 0).
    arrivals = [now - timedelta(seconds=3), now - timedelta(seconds=25), now + timedelta(seconds=10)]
    metrics.mail_stored("imap", MailPath.IDLE, arrivals, now)
    assert sample("shared_inbox_push_latency_seconds_bucket", provider="imap", path="idle", le="5.0") == before + 2
    assert sample("shared_inbox_push_latency_seconds_sum", provider="imap", path="idle") == total + 28


def test_provider_codes_are_cut_short():
    metrics.failure("passing", "imap", "X" * 500)
    assert sample("shared_inbox_failures_total", failure_class="passing", provider="imap", code="X" * 60) >= 1


def _run_failing(channel: Channel, failure: Exception) -> None:
    def operation(_channel: Channel) -> str:
        raise failure

    health.run_check(channel.pk, operation, cause="test")


def test_failures_are_counted_by_class_provider_and_code(tenancy):
    labels = {"failure_class": "auth", "provider": "gmail", "code": "invalid_grant"}
    before = sample("shared_inbox_failures_total", **labels)
    _run_failing(tenancy.shared_channel, AuthFailure("Revoked.", ReasonCode.REVOKED, code="invalid_grant"))
    assert sample("shared_inbox_failures_total", **labels) == before + 1
    passing = {"failure_class": "passing", "provider": "gmail", "code": "HTTP 503"}
    before = sample("shared_inbox_failures_total", **passing)
    _run_failing(tenancy.member_channel, PassingFailure("Down.", code="HTTP 503"))
    assert sample("shared_inbox_failures_total", **passing) == before + 1


def test_a_crash_is_counted_by_its_type(tenancy):
    labels = {"failure_class": "crash", "provider": "gmail", "code": "ZeroDivisionError"}
    before = sample("shared_inbox_failures_total", **labels)
    _run_failing(tenancy.shared_channel, ZeroDivisionError("customer text"))
    assert sample("shared_inbox_failures_total", **labels) == before + 1


def test_alerts_are_counted_by_kind_once_their_transaction_commits(tenancy, django_capture_on_commit_callbacks):
    before = sample("shared_inbox_alerts_sent_total", kind="needs_reauth")
    with django_capture_on_commit_callbacks(execute=True):
        sent = notifications.notify_problem(
            channel=tenancy.shared_channel, kind="needs_reauth", recipients=[tenancy.admin, tenancy.member]
        )
        assert sample("shared_inbox_alerts_sent_total", kind="needs_reauth") == before  # not yet committed
    assert len(sent) == 2
    assert sample("shared_inbox_alerts_sent_total", kind="needs_reauth") == before + 2


# --- observed where syncs finish and store mail (Local mail's IMAP server) -----------------------------


def _deliver(local_provider, mailbox, count: int) -> None:
    messages = [control.make_message(recipient=mailbox.address, subject=f"Hello {n}") for n in range(count)]
    control.append_messages(local_provider, mailbox.address, messages, "INBOX", timezone.now() - timedelta(seconds=5))


@pytest.fixture
def channel(imap_channel, make_mailbox, local_provider):
    return imap_channel()


def _mailbox_of(channel: Channel):
    return type("Box", (), {"address": channel.address})


@pytest.mark.local_provider
def test_a_sync_records_its_duration_and_the_messages_it_imported(channel, local_provider):
    _deliver(local_provider, _mailbox_of(channel), 3)
    syncs = sample("shared_inbox_sync_duration_seconds_count", provider="imap")
    imported = sample("shared_inbox_messages_imported_total", provider="imap", during="sync")
    latencies = sample("shared_inbox_push_latency_seconds_count", provider="imap", path="idle")
    assert "imported 3" in sync_channel(channel.pk)
    assert sample("shared_inbox_sync_duration_seconds_count", provider="imap") == syncs + 1
    assert sample("shared_inbox_messages_imported_total", provider="imap", during="sync") == imported + 3
    # A scheduled poll is no push: no latency is observed.
    assert sample("shared_inbox_push_latency_seconds_count", provider="imap", path="idle") == latencies


@pytest.mark.local_provider
@pytest.mark.parametrize(("run", "path"), [(new_mail_channel, "idle"), (push_sync_channel, "graph")])
def test_a_push_triggered_sync_records_each_new_messages_latency(channel, local_provider, run, path):
    _deliver(local_provider, _mailbox_of(channel), 2)
    count = sample("shared_inbox_push_latency_seconds_count", provider="imap", path=path)
    total = sample("shared_inbox_push_latency_seconds_sum", provider="imap", path=path)
    assert "imported 2" in run(channel.pk)
    assert sample("shared_inbox_push_latency_seconds_count", provider="imap", path=path) == count + 2
    # Delivered 5 seconds before: each waited at least that long (INTERNALDATE has whole seconds).
    assert sample("shared_inbox_push_latency_seconds_sum", provider="imap", path=path) - total >= 2 * 4


# --- multiprocess mode -----------------------------------------------------------------------------------

_CHILD = textwrap.dedent(
    """
    import sys
    from prometheus_client import Counter
    alerts = Counter("shared_inbox_alerts_sent", "", ["kind"])
    alerts.labels(kind="needs_reauth").inc(int(sys.argv[1]))
    """
)


def test_with_a_multiprocess_directory_a_scrape_adds_up_every_process(tmp_path, db):
    """Two worker processes count alerts; the web process's scrape (this one, pointed at the same directory)
    shows their sum."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    for n in ("2", "3"):
        subprocess.run([sys.executable, "-c", _CHILD, n], env=env, check=True, cwd=ROOT)
    scrape = textwrap.dedent(
        """
        import django, os
        os.environ["DJANGO_SETTINGS_MODULE"] = "config.test_settings"
        django.setup()
        from channels_app import metrics
        print(metrics.process_metrics().decode())
        """
    )
    result = subprocess.run([sys.executable, "-c", scrape], env=env, capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert 'shared_inbox_alerts_sent_total{kind="needs_reauth"} 5.0' in result.stdout
    # The files of each process, not this process's own registry (which would say 0 or nothing).
    assert "python_gc_objects_collected_total" not in result.stdout


def test_without_a_multiprocess_directory_a_scrape_shows_this_process(db):
    assert "python_gc_objects_collected_total" in metrics.process_metrics().decode()
