"""New-mail latency and provider logins: Gmail push vs polling, in the same run.

Two Gmail channels on Local mail (google persona), both sent every message: one watched (push on: the
delivery is pushed, signed, to the app's webhook on a real `runserver`, which queues the import for a
real `qcluster`), one polled every SYNC_INTERVAL seconds by the sync pass (`channels_to_sync`, which
also leaves the push channel out while its watch is healthy). For each of N deliveries, at random gaps,
we record delivery at the provider → message stored (`Message.imported_at`), and count the IMAP logins
each channel made at Local mail (Dovecot's log). Run: `.venv/bin/python bench/gmail_push.py [N]`
(default 100; about three minutes). Ports: Local mail 9510/15510, the web server 9520.
"""

import os
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
from datetime import datetime

from _setup import ROOT, django_for_bench

HTTP, IMAP, WEB = 9510, 15510, 9520
TOPIC = "projects/local-mail/topics/bench-gmail"
POLL_SECONDS = 60  # SYNC_INTERVAL_MINUTES=1, today's default
os.environ.update(GMAIL_PUBSUB_TOPIC=TOPIC, SITE_URL=f"http://127.0.0.1:{WEB}", Q_WORKERS="2")
django_for_bench("gmailpush", http_port=HTTP, imap_port=IMAP)

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402

from channels_app.demo import local_consent  # noqa: E402
from channels_app.models import Channel, Company, Inbox, InboxKind, Message, Workspace  # noqa: E402
from channels_app.services.credentials import channel_store_credentials  # noqa: E402
from channels_app.tasks import channels_to_sync, renew_subscription_channel, sync_channel  # noqa: E402
from localprovider import control  # noqa: E402
from localprovider.processes import port_accepts, wait_until  # noqa: E402

N = int(sys.argv[1]) if len(sys.argv) > 1 else 100


def _channel(instance: control.Instance, workspace: Workspace, name: str) -> Channel:
    address = f"{name}-{time.time_ns()}@acme.test"
    control.create_mailbox(instance, address, "pw", persona="google")
    inbox = Inbox.objects.create(company=workspace.company, name=address, kind=InboxKind.SHARED, workspace=workspace)
    channel = Channel.objects.create(inbox=inbox, provider="gmail", address=address)
    channel_store_credentials(channel=channel, credentials=local_consent(address, "pw", "gmail"))
    return channel


def _logins(instance: control.Instance, address: str) -> int:
    log = instance.dovecot_log.read_text(errors="replace")
    return log.count(f"imap-login: Info: Login: user=<{address}>")


def _server(*args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(  # noqa: S603 - our own manage.py
        [sys.executable, str(ROOT / "manage.py"), *args],
        env=dict(os.environ),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _poller(stop: threading.Event, polled: list[int]) -> None:
    """The sync pass every POLL_SECONDS, run in place (what `sync_pass` fans out)."""
    while not stop.wait(POLL_SECONDS):
        for channel_id in channels_to_sync().values_list("pk", flat=True):
            sync_channel(channel_id)
            polled.append(channel_id)
    connection.close()


def _percentiles(values: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return statistics.median(values), cuts[94]


def main() -> None:
    instance = control.start(control.instance_from_env())
    control.create_push_subscription(instance, TOPIC, f"http://127.0.0.1:{WEB}/push/gmail/")
    company = Company.objects.create(name=f"Bench {time.time_ns()}")
    workspace = Workspace.objects.create(company=company, name="Support")
    push, poll = _channel(instance, workspace, "push"), _channel(instance, workspace, "poll")
    renew_subscription_channel(push.pk)  # the watch; the polled channel gets none
    sync_channel(push.pk)
    sync_channel(poll.pk)
    web, worker = _server("runserver", f"127.0.0.1:{WEB}", "--noreload", "--skip-checks"), _server("qcluster")
    stop = threading.Event()
    polled: list[int] = []
    try:
        assert wait_until(lambda: port_accepts("127.0.0.1", WEB), timeout=30), "runserver did not start"
        time.sleep(3)  # qcluster's workers start
        logins_before = {c.pk: _logins(instance, c.address) for c in (push, poll)}
        started = time.monotonic()
        poller = threading.Thread(target=_poller, args=(stop, polled), daemon=True)
        poller.start()
        delivered: dict[str, datetime] = {}
        # Deliveries spread over two poll intervals, so polling latency samples its whole cycle.
        gap = 2 * POLL_SECONDS / N
        for i in range(N):
            subject = f"bench {i} {time.time_ns()}"
            delivered[subject] = datetime.now().astimezone()
            for channel in (push, poll):
                control.append_messages(
                    instance, channel.address, [control.make_message(recipient=channel.address, subject=subject)]
                )
            time.sleep(random.uniform(0.5, 1.5) * gap)
        wait_until(
            lambda: Message.objects.filter(channel=poll, subject__in=list(delivered)).count() == N,
            timeout=2 * POLL_SECONDS,
            interval=0.5,
        )
        elapsed = time.monotonic() - started
        stop.set()
        poller.join(timeout=POLL_SECONDS + 30)
        latency = {}
        for channel in (push, poll):
            stored = dict(
                Message.objects.filter(channel=channel, subject__in=list(delivered)).values_list(
                    "subject", "imported_at"
                )
            )
            missing = N - len(stored)
            assert missing == 0, f"{channel.address}: {missing} messages not stored"
            latency[channel.pk] = [(stored[s] - delivered[s]).total_seconds() for s in delivered]
        logins = {c.pk: _logins(instance, c.address) - logins_before[c.pk] for c in (push, poll)}
    finally:
        stop.set()
        for process in (web, worker):
            os.killpg(process.pid, signal.SIGTERM)
        for process in (web, worker):
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:  # qcluster waits for its workers' next poll
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        control.stop(instance)

    safety = settings.PUSH_POLL_INTERVAL_SECONDS
    print(f"deliveries: {N} over {elapsed:.0f} s; polling every {POLL_SECONDS} s; push channel safety poll {safety} s")
    for label, channel in (("Gmail push", push), ("polling", poll)):
        p50, p95 = _percentiles(latency[channel.pk])
        worst = max(latency[channel.pk])
        print(f"{label:10}  p50 {p50:6.2f} s  p95 {p95:6.2f} s  max {worst:6.2f} s  IMAP logins {logins[channel.pk]}")
    polls = max(polled.count(poll.pk), 1)
    poll_day = 86400 / POLL_SECONDS * logins[poll.pk] / polls
    print(f"polled channel: {logins[poll.pk]} logins in {polls} polls -> {poll_day:.0f} logins/day, whatever the mail")
    print(f"push channel: {logins[push.pk] / N:.2f} logins per message at this rate (bursts share a login)")
    # A day's mail arrives spread out: one login per message announced, plus the safety polls.
    for per_day in (20, 50, 200, 1000):
        push_day = per_day + 86400 / safety
        ratio = poll_day / push_day
        print(f"  {per_day:5} messages/day: push {push_day:5.0f} vs polling {poll_day:.0f} logins/day: {ratio:4.1f}x")


if __name__ == "__main__":
    main()
