"""New-mail latency: delivery at the provider → message stored, Graph notifications vs polling.

Local mail's microsoft persona holds M mailboxes with a Graph subscription each (created through the
app's own renewal task, validation handshake included); our app is served over HTTP in this process
(Django's threaded WSGI server, as `runserver`). For each of N deliveries, round robin over the mailboxes:

- Graph: the clock starts just before `control.append_messages` writes the message and Local mail posts
  the notification; the app answers 202 and queues the sync; a worker thread (standing in for a
  qcluster worker that is idle, so without django-q2's broker poll) runs `push_sync_channel`; the clock
  stops when the message's row is committed, seen by polling the database every 5 ms.
- Polling: the same delivery and the same sync, started by the scheduled pass instead. The pass runs
  every SYNC_INTERVAL_MINUTES (1); a delivery lands at a moment of the minute drawn uniformly (seeded),
  so its latency is the wait for the next pass plus the sync that pass runs, which is measured.

Prints p50/p95/max of each. Run: `.venv/bin/python bench/graph_latency.py [N] [M]` (a minute or two).
"""

import os
import queue
import random
import statistics
import sys
import threading
import time

from _setup import django_for_bench

os.environ["GRAPH_NOTIFICATIONS"] = "1"
os.environ["SITE_URL"] = "http://127.0.0.1:9620"
django_for_bench("graph", http_port=9610, imap_port=15610)

from django.conf import settings  # noqa: E402
from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402

from channels_app.demo import local_consent  # noqa: E402
from channels_app.models import Channel, Company, Inbox, InboxKind, Message, Workspace  # noqa: E402
from channels_app.services import graph_push  # noqa: E402
from channels_app.services.credentials import channel_store_credentials  # noqa: E402
from channels_app.tasks import push_sync_channel, renew_subscription_channel, sync_channel  # noqa: E402
from localprovider import control  # noqa: E402

N = int(sys.argv[1]) if len(sys.argv) > 1 else 100
M = int(sys.argv[2]) if len(sys.argv) > 2 else 5


class QuietHandler(WSGIRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def serve_app() -> ThreadedWSGIServer:
    server = ThreadedWSGIServer(("127.0.0.1", 9620), QuietHandler, allow_reuse_address=True)
    server.set_app(get_wsgi_application())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def worker(tasks: "queue.Queue[tuple]") -> None:
    """An idle qcluster worker: runs each queued task as soon as it is queued."""
    from django.db import close_old_connections

    while True:
        func, args = tasks.get()
        close_old_connections()
        {"channels_app.tasks.push_sync_channel": push_sync_channel}.get(func, lambda *a: None)(*args)


def channel_for(instance: control.Instance, workspace: Workspace, i: int) -> Channel:
    address = f"graph-bench-{i}-{time.time_ns()}@acme.test"
    control.create_mailbox(instance, address, "pw", persona="microsoft")
    inbox = Inbox.objects.create(company=workspace.company, name=address, kind=InboxKind.SHARED, workspace=workspace)
    channel = Channel.objects.create(inbox=inbox, provider="microsoft", address=address)
    channel_store_credentials(channel=channel, credentials=local_consent(address, "pw", "microsoft"))
    return channel


def deliver(instance: control.Instance, channel: Channel, subject: str) -> None:
    message = control.make_message(recipient=channel.address, subject=subject)
    control.append_messages(instance, channel.address, [message])


def wait_stored(channel: Channel, subject: str, started: float, timeout: float = 30) -> float:
    while time.perf_counter() - started < timeout:
        if Message.objects.filter(channel=channel, subject=subject).exists():
            return time.perf_counter() - started
        time.sleep(0.005)
    raise SystemExit(f"{subject} was not stored within {timeout} s")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    instance = control.start(control.instance_from_env())
    try:
        measure(instance)
    finally:
        control.stop(instance)


def measure(instance: control.Instance) -> None:
    serve_app()
    tasks: queue.Queue[tuple] = queue.Queue()
    graph_push.async_task = lambda func, *args, **kw: tasks.put((func, args))  # type: ignore[assignment]
    threading.Thread(target=worker, args=(tasks,), daemon=True).start()

    company = Company.objects.create(name=f"Bench {time.time_ns()}")
    workspace = Workspace.objects.create(company=company, name="Support")
    channels = [channel_for(instance, workspace, i) for i in range(M)]
    for channel in channels:
        print(renew_subscription_channel(channel.pk))
        sync_channel(channel.pk)  # the first import, so each delivery is the only new message

    pushed: list[float] = []
    for i in range(N):
        channel = channels[i % M]
        subject = f"push {i}"
        started = time.perf_counter()
        control.append_messages(
            instance, channel.address, [control.make_message(recipient=channel.address, subject=subject)]
        )
        pushed.append(wait_stored(channel, subject, started))

    # Polling: the same deliveries, found by the next scheduled pass. No notification this time: the
    # subscriptions are ended first, so only the pass's sync imports.
    for channel in channels:
        control.graph_lifecycle(instance, channel.address, "subscriptionRemoved")
    graph_push.async_task = lambda *a, **kw: None  # type: ignore[assignment]
    rng = random.Random(14)
    interval = settings.SYNC_INTERVAL_MINUTES * 60
    polled: list[float] = []
    for i in range(N):
        channel = channels[i % M]
        subject = f"poll {i}"
        control.append_messages(
            instance, channel.address, [control.make_message(recipient=channel.address, subject=subject)]
        )
        started = time.perf_counter()
        sync_channel(channel.pk, respect_backoff=False)
        sync_time = wait_stored(channel, subject, started)
        polled.append(rng.uniform(0, interval) + sync_time)

    print(f"\n{N} deliveries over {M} mailboxes")
    print("| path | p50 | p95 | max |\n| --- | --- | --- | --- |")
    for name, values in (("Graph notification", pushed), (f"polling every {interval} s", polled)):
        print(f"| {name} | {pct(values, 0.5):.2f} s | {pct(values, 0.95):.2f} s | {max(values):.2f} s |")
    print(f"mean push {statistics.mean(pushed):.3f} s")


if __name__ == "__main__":
    main()
