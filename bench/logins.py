"""Provider logins per channel per day, by path, counted where the provider counts them: Local mail's Dovecot
log (one `imap-login: Info: Login` line per sign-in), over one run against Local mail (Dovecot behind the
IMAP front).

Measured, on one IMAP channel held by an in-process IDLE listener (`manage.py listen`'s code):
- IDLE: N deliveries to INBOX, one at a time, each announced by the server and synced over the held
  connection; the logins they cost and the latency delivery → stored.
- push handed over: N deliveries into Archive (not announced by INBOX's IDLE), each followed by
  `idle_sync_request`, the call the Gmail and Graph webhooks make; the logins and the latency request →
  stored (the webhook's own work before it, verification and one UPDATE, takes milliseconds; Pub/Sub's or
  Graph's delivery delay comes on top and is not ours to measure).
- relogin: R relogins, forced by moving the listener's monotonic clock by IDLE_RELOGIN_MINUTES each; the
  logins per relogin (and that its sync ran).
- whether the scheduled passes still pick the channel: channels_to_sync and channels_to_probe.
And on a second channel, polled as today: P polls (the sync pass's task) and one probe, logins each, and
whether the probe pass still picks it right after a poll.

Then the day's logins per path are arithmetic on those counts, for 20, 100 and 200 messages a day.

Run: `.venv/bin/python bench/logins.py [--deliveries 20] [--relogins 5] [--polls 10]` (about a minute).
"""

import argparse
import statistics
import threading
import time
from typing import Any

from _setup import django_for_bench

HTTP_PORT, IMAP_PORT = 9710, 15710
django_for_bench("logins", http_port=HTTP_PORT, imap_port=IMAP_PORT)

from django.conf import settings  # noqa: E402
from django.utils import timezone  # noqa: E402

from channels_app.models import Channel, Company, Inbox, InboxKind, Message, Workspace  # noqa: E402
from channels_app.providers import Credentials  # noqa: E402
from channels_app.services.credentials import channel_store_credentials  # noqa: E402
from channels_app.services.idle import IdleListener, Phase  # noqa: E402
from channels_app.services.idle_lease import idle_sync_request  # noqa: E402
from channels_app.tasks import channels_to_probe, channels_to_sync, probe_channel, sync_channel  # noqa: E402
from localprovider import control  # noqa: E402

PASSWORD = "bench-password"


def _channel(instance: control.Instance, workspace: Workspace, name: str) -> Channel:
    address = f"{name}-{int(time.time())}@acme.test"
    control.create_mailbox(instance, address, PASSWORD)
    inbox = Inbox.objects.create(company=workspace.company, kind=InboxKind.SHARED, workspace=workspace, name=name)
    channel = Channel.objects.create(
        inbox=inbox,
        provider="imap",
        address=address,
        imap_host="127.0.0.1",
        imap_port=instance.imap_port,
        imap_security="none",
        imap_username=address,
    )
    channel_store_credentials(channel=channel, credentials=Credentials(password=PASSWORD))
    return channel


def _logins(instance: control.Instance, address: str) -> int:
    """Sign-ins Dovecot logged for the mailbox, once its log has stopped growing (it is written asynchronously)."""
    log = instance.dovecot_log
    size = -1
    while size != log.stat().st_size:
        size = log.stat().st_size
        time.sleep(0.3)
    return log.read_text(errors="replace").count(f"imap-login: Info: Login: user=<{address}>")


def _wait(check, seconds: float = 30, what: str = "") -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"gave up waiting for {what}")
        time.sleep(0.005)


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def measure(instance: control.Instance, deliveries: int, relogins: int, polls: int) -> dict[str, Any]:
    company = Company.objects.create(name="Bench")
    workspace = Workspace.objects.create(company=company, name="Bench")
    held = _channel(instance, workspace, "idle")
    # The folder a server-side rule files into exists before the listener signs in.
    control.append_messages(instance, held.address, [control.make_message(recipient=held.address)], "Archive")
    skew = [0.0]
    queued: list[int] = []  # worker syncs the listener fell back to (backfill open, lease busy)
    listener = IdleListener(
        name="bench", monotonic=lambda: time.monotonic() + skew[0], enqueue=queued.append, max_channels=1
    )
    runner = threading.Thread(target=listener.run, name="listener")
    runner.start()

    def stored() -> int:
        return Message.objects.filter(channel=held).count()

    def idling() -> bool:
        conn = listener.connections.get(held.pk)
        return bool(conn and conn.phase is Phase.IDLING and not conn.sync_reasons)

    result: dict[str, Any] = {}
    try:
        _wait(lambda: stored() == 1 and idling(), what="the channel idling after its first sync")
        base = _logins(instance, held.address)
        announced: list[float] = []
        for i in range(deliveries):
            message = control.make_message(recipient=held.address, subject=f"IDLE {i}")
            delivered = time.monotonic()
            control.append_messages(instance, held.address, [message])
            _wait(lambda i=i: stored() == 2 + i, what="an announced message stored")
            announced.append(time.monotonic() - delivered)
            _wait(idling, what="idling again")
        after_announced = _logins(instance, held.address)
        handed: list[float] = []
        for i in range(deliveries):
            message = control.make_message(recipient=held.address, subject=f"Push {i}")
            control.append_messages(instance, held.address, [message], "Archive")
            asked = time.monotonic()
            assert idle_sync_request(channel_id=held.pk, now=timezone.now())
            _wait(lambda i=i: stored() == 2 + deliveries + i, what="a handed-over message stored")
            handed.append(time.monotonic() - asked)
            _wait(idling, what="idling again")
        after_handed = _logins(instance, held.address)
        passes = {"sync pass picks it": held in channels_to_sync(), "probe pass picks it": held in channels_to_probe()}
        for _ in range(relogins):
            synced = Channel.objects.get(pk=held.pk).last_synced_at
            skew[0] += settings.IDLE_RELOGIN_MINUTES * 60
            _wait(lambda synced=synced: Channel.objects.get(pk=held.pk).last_synced_at != synced, what="relogin sync")
            _wait(idling, what="idling after the relogin")
        after_relogins = _logins(instance, held.address)
        result.update(
            announced=announced,
            handed=handed,
            announced_logins=after_announced - base,
            handed_logins=after_handed - after_announced,
            relogin_logins=after_relogins - after_handed,
            fallbacks=len(queued),
            idle_passes=passes,
        )
    finally:
        listener.stop()
        runner.join(60)

    polled = _channel(instance, workspace, "polled")
    base = _logins(instance, polled.address)
    for _ in range(polls):
        sync_channel(polled.pk, respect_backoff=False)
    after_polls = _logins(instance, polled.address)
    probe_picks = polled in channels_to_probe()
    probe_channel(polled.pk, respect_backoff=False)
    result.update(
        poll_logins=after_polls - base,
        probe_logins=_logins(instance, polled.address) - after_polls,
        probe_picks_polled=probe_picks,
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--deliveries", type=int, default=20)
    parser.add_argument("--relogins", type=int, default=5)
    parser.add_argument("--polls", type=int, default=10)
    args = parser.parse_args()
    instance = control.start(control.instance_from_env())
    try:
        r = measure(instance, args.deliveries, args.relogins, args.polls)
    finally:
        control.stop(instance)

    n, relogins, polls = args.deliveries, args.relogins, args.polls
    per_announced = r["announced_logins"] / n
    per_handed = r["handed_logins"] / n
    per_relogin = r["relogin_logins"] / relogins
    per_poll = r["poll_logins"] / polls
    rows = [
        (f"{n} messages announced by IDLE, synced over the held connection", r["announced_logins"], per_announced),
        (f"{n} pushes handed to the listener", r["handed_logins"], per_handed),
        (
            f"{relogins} relogins (IDLE_RELOGIN_MINUTES={settings.IDLE_RELOGIN_MINUTES})",
            r["relogin_logins"],
            per_relogin,
        ),
        (f"{polls} polls of a polled channel", r["poll_logins"], per_poll),
        ("1 probe of a polled channel", r["probe_logins"], r["probe_logins"]),
    ]
    print("Measured, logins counted in Dovecot's log:")
    print("| what | logins | per event |\n| --- | --- | --- |")
    for what, count, per in rows:
        print(f"| {what} | {count} | {per:g} |")
    print(f"worker syncs the listener fell back to: {r['fallbacks']}")
    print(f"IDLE channel: {r['idle_passes']}; probe pass picks a channel just polled: {r['probe_picks_polled']}")
    print("\nLatency (the listener's sync over its connection, no login):")
    print("| path | p50 | p95 | max |\n| --- | --- | --- | --- |")
    for label, values in (
        ("IDLE, delivery → stored", r["announced"]),
        ("push handed over, request → stored", r["handed"]),
    ):
        p50, p95 = statistics.median(values), _percentile(values, 95)
        print(f"| {label} | {p50 * 1000:.0f} ms | {p95 * 1000:.0f} ms | {max(values) * 1000:.0f} ms |")

    day = 24 * 60
    relogins_day = day / settings.IDLE_RELOGIN_MINUTES * per_relogin
    probes_day = day / settings.PROBE_INTERVAL_MINUTES * r["probe_logins"]
    polls_day = day / settings.SYNC_INTERVAL_MINUTES * per_poll
    safety_day = 86400 / settings.PUSH_POLL_INTERVAL_SECONDS * per_poll
    renewal_day = 1  # an IMAP channel's daily renewal is a login and a SELECT (operations.renew_subscription)
    print("\nLogins per channel per day (arithmetic on the counts above):")
    print(
        "| mail a day | polling before (sync + probe) | polling now | IDLE before | IDLE now | push handed over "
        "| polling before / IDLE now |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for mail in (20, 100, 200):
        before = polls_day + probes_day + renewal_day
        now = polls_day + (probes_day if r["probe_picks_polled"] else 0) + renewal_day
        idle_before = 1 + safety_day + mail * per_poll + probes_day + renewal_day
        idle_now = relogins_day + mail * per_announced + renewal_day
        handed = relogins_day + mail * per_handed + renewal_day
        cells = [before, now, idle_before, idle_now, handed]
        print(f"| {mail} | " + " | ".join(f"{c:,.0f}" for c in cells) + f" | {before / idle_now:.1f}× |")


if __name__ == "__main__":
    main()
