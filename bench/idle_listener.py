"""The IDLE listener: what holding idle channels costs, and how soon new mail is stored.

(a) Memory and CPU. `manage.py listen`, a child process as in production, holds N channels (100, then
    1,000) against Local mail's IMAP front serving its in-memory mailbox (another child process, so its
    memory is not counted; no Dovecot, which would need a process per connection). We report the time
    until every channel is idling and has run the sync each connection runs over itself (sign-ins are
    paced by IMAP_RATE_LIMIT, 20 a second, as in production), the listener's resident memory (VmRSS)
    while holding them, its CPU share over a hold of `--hold` seconds after that, and how long SIGTERM
    takes to end every IDLE and release the channels.
(b) New-mail latency against Local mail (Dovecot behind the IMAP front): a message is delivered
    (Maildir, as `localprovider append` does) and we time until it is stored. IDLE: an in-process
    listener, whose sync runs over the held connection on its worker thread (no login, no broker hop).
    Polling: each delivery is followed by the sync a poll would
    run, timed, plus the wait for that poll, spread evenly over the interval (the delivery lands at a
    random moment of it): at today's SYNC_INTERVAL_MINUTES (60 s) and at the safety net's 600 s.

Run: `.venv/bin/python bench/idle_listener.py [--sizes 100,1000] [--deliveries 100] [--hold 30]`
(about four minutes on two busy cores).
"""

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from _setup import ROOT, django_for_bench

HTTP_PORT, IMAP_PORT = 9410, 15410
# The in-memory front for (a): on a port the IMAP form allows in this run.
MEMORY_FRONT_PORT = 15420
os.environ["IMAP_ALLOWED_PORTS"] = f"{IMAP_PORT},{MEMORY_FRONT_PORT}"


def serve_memory_front(port: int) -> None:
    """The child that serves (a): Local mail's front before its in-memory mailbox, every login accepted."""
    sys.path.insert(0, str(ROOT))
    from localprovider.imap_front import ImapFront
    from localprovider.personas import MailboxState

    async def serve() -> None:
        front = ImapFront(upstream=None, state_for=lambda _address: MailboxState())
        server = await front.start("127.0.0.1", port)
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        print("ready", flush=True)
        await stop.wait()
        await front.close(server)

    asyncio.run(serve())


if len(sys.argv) > 2 and sys.argv[1] == "--serve-memory-front":
    serve_memory_front(int(sys.argv[2]))
    sys.exit(0)

django_for_bench("idle", http_port=HTTP_PORT, imap_port=IMAP_PORT)

from django.db import connection  # noqa: E402
from django_q.models import OrmQ  # noqa: E402

from channels_app.models import Channel, Company, Inbox, InboxKind, Message, Workspace  # noqa: E402
from channels_app.providers import Credentials  # noqa: E402
from channels_app.services.credentials import channel_store_credentials  # noqa: E402
from channels_app.services.idle import IdleListener, Phase  # noqa: E402
from channels_app.tasks import new_mail_channel, sync_channel  # noqa: E402
from localprovider import control  # noqa: E402

_workspace: Workspace | None = None


def _channels(n: int, *, port: int, address: str | None = None, password: str = "pw") -> list[Channel]:
    global _workspace
    if _workspace is None:
        company = Company.objects.create(name="Bench")
        _workspace = Workspace.objects.create(company=company, name="Bench")
    made = []
    start = Inbox.objects.count()
    for i in range(n):
        inbox = Inbox.objects.create(
            company=_workspace.company, kind=InboxKind.SHARED, workspace=_workspace, name=f"Inbox {start + i}"
        )
        mailbox = address or f"idle{start + i}@bench.test"
        channel = Channel.objects.create(
            inbox=inbox,
            provider="imap",
            address=mailbox,
            imap_host="127.0.0.1",
            imap_port=port,
            imap_security="none",
            imap_username=mailbox,
        )
        channel_store_credentials(channel=channel, credentials=Credentials(password=password))
        made.append(channel)
    return made


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _wait(check, seconds: float, what: str) -> float:
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > seconds:
            raise SystemExit(f"gave up waiting for {what}")
        time.sleep(0.25)
    return time.monotonic() - started


def hold(n: int, hold_seconds: float) -> dict[str, float]:
    Channel.objects.all().delete()
    OrmQ.objects.all().delete()
    _channels(n, port=MEMORY_FRONT_PORT)
    env = {
        **os.environ,
        "IDLE_CLAIM_BATCH": str(n),
        "IDLE_MAX_CHANNELS": str(n),
        "DATABASE_URL": f"sqlite:///{connection.settings_dict['NAME']}",
    }
    listener = subprocess.Popen([sys.executable, "manage.py", "listen"], cwd=ROOT, env=env)  # noqa: S603
    try:
        idling = Channel.objects.filter(idle_since__isnull=False)
        ramp = _wait(lambda: idling.count() == n, 600, f"{n} channels idling")
        # Each connection syncs over itself (for mail that came while nobody listened): idle means after those.
        synced = Channel.objects.filter(last_synced_at__isnull=False)
        ramp += _wait(lambda: synced.count() == n, 600, f"{n} channels synced")
        time.sleep(1)
        cpu_before, started = _cpu_seconds(listener.pid), time.monotonic()
        time.sleep(hold_seconds)
        cpu = (_cpu_seconds(listener.pid) - cpu_before) / (time.monotonic() - started) * 100
        rss = _rss_mb(listener.pid)
        stopping = time.monotonic()
        listener.send_signal(signal.SIGTERM)
        listener.wait(timeout=120)
        stop = time.monotonic() - stopping
        released = not Channel.objects.exclude(idle_owner="").exists()
    finally:
        if listener.poll() is None:
            listener.kill()
    return {"n": n, "ramp": ramp, "rss": rss, "cpu": cpu, "stop": stop, "released": released}


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def latencies(deliveries: int, instance: control.Instance) -> dict[str, list[float]]:
    Channel.objects.all().delete()
    address, password = f"latency-{int(time.time())}@acme.test", "bench-password"
    control.create_mailbox(instance, address, password)
    (channel,) = _channels(1, port=instance.imap_port, address=address, password=password)

    def stored() -> int:
        return Message.objects.filter(channel=channel).count()

    # IDLE: the listener runs in this process; its sync runs on its worker thread.
    listener = IdleListener(name="bench", enqueue=lambda channel_id: new_mail_channel(channel_id))
    runner = threading.Thread(target=listener.run, name="listener")
    runner.start()
    idle: list[float] = []
    try:

        def ready() -> bool:
            conn = listener.connections.get(channel.pk)
            return bool(conn and conn.phase is Phase.IDLING and not conn.syncing)

        _wait(ready, 60, "the channel idling")
        for i in range(deliveries):
            message = control.make_message(recipient=address, subject=f"IDLE {i}")
            delivered = time.monotonic()
            control.append_messages(instance, address, [message])
            while stored() < i + 1:
                time.sleep(0.01)
            idle.append(time.monotonic() - delivered)
    finally:
        listener.stop()
        runner.join(60)
    # Polling: the sync a poll runs after each delivery, plus the wait for that poll.
    syncs: list[float] = []
    for i in range(deliveries):
        control.append_messages(instance, address, [control.make_message(recipient=address, subject=f"Poll {i}")])
        started = time.monotonic()
        sync_channel(channel.pk, respect_backoff=False)
        syncs.append(time.monotonic() - started)
    assert stored() == 2 * deliveries, stored()
    spread = [(i + 0.5) / deliveries for i in range(deliveries)]  # the delivery's moment within the interval
    by_poll = {f"polling every {t} s": [s * t + d for s, d in zip(spread, syncs, strict=True)] for t in (60, 600)}
    return {"IDLE": idle, **by_poll, "(the poll's sync alone)": syncs}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="100,1000")
    parser.add_argument("--deliveries", type=int, default=100)
    parser.add_argument("--hold", type=float, default=30)
    args = parser.parse_args()

    front = subprocess.Popen(  # noqa: S603
        [sys.executable, __file__, "--serve-memory-front", str(MEMORY_FRONT_PORT)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert front.stdout is not None and front.stdout.readline().strip() == "ready"
        rows = [hold(int(n), args.hold) for n in args.sizes.split(",")]
    finally:
        front.terminate()
        front.wait()
    print("\n(a) the listener holding idle channels (Local mail's front, in-memory mailbox)")
    print("| channels | all idling and synced, after | RSS | CPU while idle | SIGTERM → all released |")
    print("| --- | --- | --- | --- | --- |")
    for r in rows:
        released = f"{r['stop']:.1f} s" if r["released"] else f"{r['stop']:.1f} s, NOT released"
        print(f"| {r['n']:,} | {r['ramp']:.1f} s | {r['rss']:.1f} MB | {r['cpu']:.2f} % | {released} |")
    if len(rows) > 1:
        a, b = rows[0], rows[-1]
        per = (b["rss"] - a["rss"]) / (b["n"] - a["n"]) * 1024
        print(f"memory per channel held: {per:.1f} KB")

    instance = control.start(control.instance_from_env())
    try:
        results = latencies(args.deliveries, instance)
    finally:
        control.stop(instance)
    where = "Dovecot behind Local mail's front"
    print(f"\n(b) new-mail latency, delivery → stored, {args.deliveries} deliveries ({where})")
    print("| path | p50 | p95 | max |")
    print("| --- | --- | --- | --- |")
    for path, values in results.items():
        p50, p95 = statistics.median(values), _percentile(values, 95)
        print(f"| {path} | {p50 * 1000:.0f} ms | {p95 * 1000:.0f} ms | {max(values) * 1000:.0f} ms |")


if __name__ == "__main__":
    main()
