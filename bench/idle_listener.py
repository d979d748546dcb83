"""The IDLE listener: what holding idle channels costs.

`manage.py listen`, a child process as in production, holds N channels (100, then 1,000) against Local
mail's IMAP front serving its in-memory mailbox (another child process, so its memory is not counted; no
Dovecot, which would need a process per connection). We report the time until every channel is idling
and has run the sync each connection runs over itself (sign-ins are paced by IMAP_RATE_LIMIT, 20 a
second, as in production), the listener's resident memory (VmRSS) while holding them, its CPU share over
a hold of `--hold` seconds after that, and how long SIGTERM takes to end every IDLE and release the
channels.

How soon new mail is stored through IDLE, beside Gmail push, Graph and polling: bench/new_mail.py.

Run: `.venv/bin/python bench/idle_listener.py [--sizes 100,1000] [--hold 30]` (about four minutes on two
busy cores); BENCH_HTTP_PORT, BENCH_IMAP_PORT and BENCH_FRONT_PORT move it off 9410, 15410 and 15420.
"""

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from _setup import ROOT, bench_workspace, django_for_bench, imap_channel

# Ports can be moved (BENCH_HTTP_PORT, BENCH_IMAP_PORT, BENCH_FRONT_PORT) to run beside another instance.
HTTP_PORT = int(os.environ.get("BENCH_HTTP_PORT") or 9410)
IMAP_PORT = int(os.environ.get("BENCH_IMAP_PORT") or 15410)
# The in-memory front for (a): on a port the IMAP form allows in this run.
MEMORY_FRONT_PORT = int(os.environ.get("BENCH_FRONT_PORT") or 15420)
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

from channels_app.models import Channel  # noqa: E402


def _channels(n: int, *, port: int) -> None:
    workspace = bench_workspace()
    for i in range(n):
        imap_channel(workspace, address=f"idle{i}-{workspace.pk}@bench.test", password="pw", port=port)


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
    listener = subprocess.Popen([sys.executable, "manage.py", "listen"], cwd=ROOT, env=env)
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
        load = os.getloadavg()[0]
        stopping = time.monotonic()
        listener.send_signal(signal.SIGTERM)
        listener.wait(timeout=120)
        stop = time.monotonic() - stopping
        released = not Channel.objects.exclude(idle_owner="").exists()
    finally:
        if listener.poll() is None:
            listener.kill()
    return {"n": n, "ramp": ramp, "rss": rss, "cpu": cpu, "stop": stop, "released": released, "load": load}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="100,1000")
    parser.add_argument("--hold", type=float, default=30)
    args = parser.parse_args()

    front = subprocess.Popen(
        [sys.executable, __file__, "--serve-memory-front", str(MEMORY_FRONT_PORT)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert front.stdout is not None and front.stdout.readline().strip() == "ready"
        rows = [hold(int(n), args.hold) for n in args.sizes.split(",")]
    finally:
        front.terminate()
        front.wait()
    print("\n(a) the listener holding idle channels (Local mail's front, in-memory mailbox)")
    print("| channels | all idling and synced, after | RSS | CPU while idle | SIGTERM → all released | load (1 min) |")
    print("| --- | --- | --- | --- | --- | --- |")
    for r in rows:
        released = f"{r['stop']:.1f} s" if r["released"] else f"{r['stop']:.1f} s, NOT released"
        print(
            f"| {r['n']:,} | {r['ramp']:.1f} s | {r['rss']:.1f} MB | {r['cpu']:.2f} % | {released} | {r['load']:.1f} |"
        )
    if len(rows) > 1:
        a, b = rows[0], rows[-1]
        per = (b["rss"] - a["rss"]) / (b["n"] - a["n"]) * 1024
        print(f"memory per channel held: {per:.1f} KB")


if __name__ == "__main__":
    main()
