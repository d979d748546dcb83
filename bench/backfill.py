"""Backfill throughput, reconciliation of a renumbered mailbox, and memory, against Dovecot on loopback.

For N/4 and N messages (~3 KB, realistic headers) it measures in one run:
  (a) the raw ceiling: imapclient fetching the same UIDs in batches, with the same items the import
      fetches (the message and its arrival time), nothing stored; and (a') the same with imaplib's
      debug formatting off, as our own client runs (providers/imap_network.py): the fastest plain fetch
      we know, so that b/a' says what storing costs, whatever the library's defaults;
  (b) our backfill of the whole mailbox (INBOX) into a fresh database, end to end, in a child process
      (so its peak resident memory is its own); ratio b/a, goal >= 0.5;
  (c) in the same child, after the server renumbers the folder (new UIDVALIDITY, as after a restore):
      the sync that reconciles it by identity; goal: at most 2x the time of (b), and no message body
      downloaded again (counted);
  (d) an all-folder backfill: the same number of messages spread over four folders; rate and peak RSS,
      which must stay flat from N/4 to N.
Run: `.venv/bin/python bench/backfill.py [N]` (default 20000).
"""

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

# Its own instance; the ports can be moved (BENCH_HTTP_PORT, BENCH_IMAP_PORT, BENCH_DOVECOT_PORT) so that
# it can run beside someone else's instance on the same machine.
HTTP_PORT = int(os.environ.get("BENCH_HTTP_PORT") or 8769)
IMAP_PORT = int(os.environ.get("BENCH_IMAP_PORT") or 14147)
# Both the ceiling and our backfill talk to Dovecot itself, not to Local mail's IMAP front (a Python
# proxy that words refusals like Gmail and Exchange): on 2 cores its relaying would take CPU from both
# sides and measure the stand-in rather than the import.
DOVECOT_PORT = int(os.environ.get("BENCH_DOVECOT_PORT") or IMAP_PORT + 1000)
PASSWORD = "bench-password"
BATCH = 1000  # the same as SYNC_BATCH_SIZE's default, so (a) and (b) fetch alike
FOLDERS = ("INBOX", "Archive", "Sent", "Customers")
# The ceiling fetches what the import fetches of each message: its bytes and its arrival time.
FETCHED = ["BODY.PEEK[]", "INTERNALDATE"]


def _instance():  # type: ignore[no-untyped-def]
    from localprovider import control

    return control.Instance(
        dir=ROOT / ".testbed" / "bench-backfill", http_port=HTTP_PORT, imap_port=IMAP_PORT, dovecot_port=DOVECOT_PORT
    )


def child(mode: str, address: str) -> None:
    """Runs in its own process: a fresh database, one IMAP channel, one backfill of the whole mailbox;
    for mode "renumber" then the reconciling sync after the server renumbers the INBOX."""
    sys.path.insert(0, str(HERE))
    from _setup import bench_workspace, django_for_bench, imap_channel

    # The channel is a password channel on Dovecot's own port, which the IMAP policy must allow.
    os.environ["IMAP_ALLOWED_PORTS"] = str(DOVECOT_PORT)
    django_for_bench("backfill", http_port=HTTP_PORT, imap_port=IMAP_PORT)
    from channels_app.models import Message
    from channels_app.services import sync
    from channels_app.services.backfill import backfill_start
    from channels_app.tasks import backfill_channel, sync_channel
    from localprovider import control

    channel = imap_channel(bench_workspace(), address=address, password=PASSWORD, port=DOVECOT_PORT)
    downloads = {"count": 0}
    real_row = sync.message_row

    def counted(*args, **kwargs):  # type: ignore[no-untyped-def]
        downloads["count"] += 1
        return real_row(*args, **kwargs)

    sync.message_row = counted  # type: ignore[assignment]
    backfill_start(channel_id=channel.pk, actor_id=None)
    started, cpu = time.perf_counter(), time.process_time()
    result = backfill_channel(channel.pk)
    elapsed = time.perf_counter() - started
    report = {
        "elapsed": elapsed,
        "cpu": time.process_time() - cpu,
        "count": Message.objects.filter(channel=channel).count(),
        "result": result,
    }
    if mode == "renumber":
        control.renumber_mailbox(_instance(), address, "INBOX")
        downloads["count"] = 0
        started = time.perf_counter()
        report["reconcile_result"] = sync_channel(channel.pk, respect_backoff=False)
        report["reconcile_elapsed"] = time.perf_counter() - started
        report["redownloaded"] = downloads["count"]
        report["count_after"] = Message.objects.filter(channel=channel).count()
    report["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(report))


def ceiling(address: str, folders: tuple[str, ...] = ("INBOX",), *, quiet: bool = False) -> tuple[float, int, float]:
    """(seconds, messages fetched, seconds of this process's CPU)."""
    from imapclient import IMAPClient

    started, cpu = time.perf_counter(), time.process_time()
    fetched = 0
    with IMAPClient("127.0.0.1", port=DOVECOT_PORT, ssl=False, timeout=60) as client:
        if quiet:
            client._imap.debug = 0
        client.login(address, PASSWORD)
        for folder in folders:
            client.select_folder(folder, readonly=True)
            uids = client.search(["ALL"])
            for start in range(0, len(uids), BATCH):
                fetched += len(client.fetch(uids[start : start + BATCH], FETCHED))
    return time.perf_counter() - started, fetched, time.process_time() - cpu


def _run_child(mode: str, address: str) -> dict[str, object]:
    env = (
        {**os.environ, "DATABASE_URL": os.environ.get("BENCH_DATABASE_URL", "")}
        if os.environ.get("BENCH_DATABASE_URL")
        else dict(os.environ)
    )
    out = subprocess.run(
        [sys.executable, __file__, "--child", mode, address], capture_output=True, text=True, env=env, check=True
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def measure(instance, n: int, folders: tuple[str, ...]) -> dict[str, float]:  # type: ignore[no-untyped-def]
    from localprovider import control

    address = f"bench-{len(folders)}-{n}-{time.time_ns()}@acme.test"
    control.create_mailbox(instance, address, PASSWORD)
    for i, folder in enumerate(folders):
        share = n // len(folders) + (1 if i < n % len(folders) else 0)
        control.append_messages(
            instance, address, (control.make_message(recipient=address) for _ in range(share)), folder
        )
    # The ceiling is the best of three runs (the first also warms Dovecot's index and the page cache).
    raw_seconds, fetched, raw_cpu = min(ceiling(address, folders) for _ in range(3))
    quiet_seconds, _, quiet_cpu = min(ceiling(address, folders, quiet=True) for _ in range(3))
    mode = "renumber" if folders == ("INBOX",) else "plain"
    ours = _run_child(mode, address)
    assert fetched == n and ours["count"] == n, (fetched, ours)
    row = {
        "n": n,
        "raw_rate": n / raw_seconds,
        "quiet_rate": n / quiet_seconds,
        "our_rate": n / float(ours["elapsed"]),
        # CPU per message in the fetching process, which a busy machine disturbs far less than the rates.
        "raw_cpu_us": raw_cpu / n * 1e6,
        "quiet_cpu_us": quiet_cpu / n * 1e6,
        "our_cpu_us": float(ours["cpu"]) / n * 1e6,
        "peak_mb": ours["peak_mb"],
    }
    if mode == "renumber":
        assert ours["count_after"] == n, ours
        row["reconcile_ratio"] = float(ours["reconcile_elapsed"]) / float(ours["elapsed"])
        row["redownloaded"] = ours["redownloaded"]
    return row  # type: ignore[return-value]


def _table(title: str, rows: list[dict[str, float]]) -> None:
    print(title)
    print(
        f"{'N':>7} {'raw fetch msg/s':>16} {'quiet fetch':>12} {'backfill msg/s':>15} {'b/a':>6} {'b/a_quiet':>10} "
        f"{'peak RSS MB':>12}"
    )
    for row in rows:
        ratio, quiet = row["our_rate"] / row["raw_rate"], row["our_rate"] / row["quiet_rate"]
        print(
            f"{row['n']:>7} {row['raw_rate']:>16.0f} {row['quiet_rate']:>12.0f} {row['our_rate']:>15.0f} "
            f"{ratio:>6.2f} {quiet:>10.2f} {row['peak_mb']:>12.1f}"
        )
    print(
        "CPU per message of the fetching process, us (a / a' / b): "
        + "; ".join(
            f"N={row['n']}: {row['raw_cpu_us']:.0f} / {row['quiet_cpu_us']:.0f} / {row['our_cpu_us']:.0f}"
            for row in rows
        )
    )
    small, big = rows
    print(
        f"memory growth from N/4 to N: {big['peak_mb'] / small['peak_mb']:.2f}x; "
        f"rate at N vs N/4: {big['our_rate'] / small['our_rate']:.2f}x"
    )


def main() -> None:
    from localprovider import control

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    instance = _instance()
    control.start(instance)
    try:
        inbox = [measure(instance, n // 4, ("INBOX",)), measure(instance, n, ("INBOX",))]
        spread = [measure(instance, n // 4, FOLDERS), measure(instance, n, FOLDERS)]
    finally:
        control.stop(instance)
    _table("INBOX backfill (b) against the raw fetch (a):", inbox)
    print("\nReconciling the renumbered INBOX (c), against the backfill of it (b):")
    for row in inbox:
        print(
            f"  N={row['n']}: {row['reconcile_ratio']:.2f}x the backfill's time (goal <= 2), "
            f"{int(row['redownloaded'])} message bodies downloaded again (goal 0)"
        )
    _table(f"\nAll-folder backfill (d), {len(FOLDERS)} folders:", spread)


if __name__ == "__main__":
    if len(sys.argv) > 3 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3])
    else:
        main()
