"""Backfill throughput and memory against Dovecot on loopback.

Puts N messages (~3 KB, realistic headers) into a mailbox, then in one run measures
  (a) the raw ceiling: imapclient fetching the same UIDs in batches, nothing stored;
  (b) our backfill of the same gap into a fresh database, end to end, in a child process
      (so its peak resident memory is its own);
and the same for N/4. Prints rates, the ratio b/a, peak RSS and how they grow.
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

HTTP_PORT, IMAP_PORT = 8769, 14147
PASSWORD = "bench-password"
BATCH = 1000  # the same as SYNC_BATCH_SIZE's default, so (a) and (b) fetch alike


def child(address: str) -> None:
    """Runs in its own process: a fresh database, one IMAP channel, one backfill of the whole mailbox."""
    sys.path.insert(0, str(HERE))
    from _setup import django_for_bench

    django_for_bench("backfill", http_port=HTTP_PORT, imap_port=IMAP_PORT)
    from channels_app.models import Channel, Company, Inbox, InboxKind, Message, User
    from channels_app.providers import Credentials
    from channels_app.services.backfill import backfill_start
    from channels_app.services.credentials import channel_store_credentials
    from channels_app.tasks import backfill_channel

    owner = User.objects.create(username=address, email=address)
    company = Company.objects.create(name="Bench")
    from channels_app.models import CompanyMembership

    CompanyMembership.objects.create(user=owner, company=company)
    inbox = Inbox.objects.create(company=company, name="Bench", kind=InboxKind.INDIVIDUAL, owner=owner)
    channel = Channel.objects.create(
        inbox=inbox,
        provider="imap",
        address=address,
        imap_host="127.0.0.1",
        imap_port=IMAP_PORT,
        imap_use_tls=False,
        imap_username=address,
    )
    channel_store_credentials(channel=channel, credentials=Credentials(password=PASSWORD))
    backfill_start(channel_id=channel.pk, actor_id=None)
    started = time.perf_counter()
    result = backfill_channel(channel.pk)
    elapsed = time.perf_counter() - started
    count = Message.objects.filter(channel=channel).count()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"elapsed": elapsed, "count": count, "peak_mb": peak_mb, "result": result}))


def ceiling(address: str) -> tuple[float, int]:
    from imapclient import IMAPClient

    started = time.perf_counter()
    with IMAPClient("127.0.0.1", port=IMAP_PORT, ssl=False, timeout=60) as client:
        client.login(address, PASSWORD)
        client.select_folder("INBOX", readonly=True)
        uids = client.search(["ALL"])
        fetched = 0
        for start in range(0, len(uids), BATCH):
            fetched += len(client.fetch(uids[start : start + BATCH], ["BODY.PEEK[]"]))
    return time.perf_counter() - started, fetched


def measure(instance, n: int) -> dict[str, float]:
    from localprovider import control

    address = f"bench-{n}-{time.time_ns()}@acme.test"
    control.create_mailbox(instance, address, PASSWORD)
    control.append_messages(instance, address, (control.make_message(recipient=address) for _ in range(n)))
    # The ceiling is the best of three runs (the first also warms Dovecot's index and the page cache).
    raw_seconds, fetched = min(ceiling(address) for _ in range(3))
    env = (
        {**os.environ, "DATABASE_URL": os.environ.get("BENCH_DATABASE_URL", "")}
        if os.environ.get("BENCH_DATABASE_URL")
        else dict(os.environ)
    )
    out = subprocess.run(
        [sys.executable, __file__, "--child", address], capture_output=True, text=True, env=env, check=True
    ).stdout
    ours = json.loads(out.strip().splitlines()[-1])
    assert fetched == n and ours["count"] == n, (fetched, ours)
    return {"n": n, "raw_rate": n / raw_seconds, "our_rate": n / ours["elapsed"], "peak_mb": ours["peak_mb"]}


def main() -> None:
    from localprovider import control

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    instance = control.Instance(dir=ROOT / ".testbed" / "bench-backfill", http_port=HTTP_PORT, imap_port=IMAP_PORT)
    control.start(instance)
    try:
        rows = [measure(instance, n // 4), measure(instance, n)]
    finally:
        control.stop(instance)
    print(f"{'N':>7} {'raw fetch msg/s':>16} {'backfill msg/s':>15} {'ratio b/a':>10} {'peak RSS MB':>12}")
    for row in rows:
        ratio = row["our_rate"] / row["raw_rate"]
        print(f"{row['n']:>7} {row['raw_rate']:>16.0f} {row['our_rate']:>15.0f} {ratio:>10.2f} {row['peak_mb']:>12.1f}")
    small, big = rows
    print(
        f"memory growth from N/4 to N: {big['peak_mb'] / small['peak_mb']:.2f}x; "
        f"rate at N vs N/4: {big['our_rate'] / small['our_rate']:.2f}x"
    )


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        child(sys.argv[2])
    else:
        main()
