"""Scale-out: probe and sync passes over C channels with W workers on PostgreSQL + Redis,
against the same logins done by a plain script; and the Channels page at 10, 100 and 1,000 channels.

Needs PostgreSQL (127.0.0.1:5432, trust) and Redis (127.0.0.1:6379), as CI's machine has.
Run: `.venv/bin/python bench/scale.py [C]` (default 2000). Prints a table; figures in RESULTS.md.
"""

import os
import statistics
import subprocess
import sys
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
HTTP_PORT, IMAP_PORT = 8771, 14149
DB_NAME = f"bench_scale_{os.getpid()}"
REDIS_URL = "redis://127.0.0.1:6379/7"
WORKER_COUNTS = (1, 2, 4)


def _create_database() -> str:
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{DB_NAME}"')
    return f"postgres://postgres@127.0.0.1:5432/{DB_NAME}"


def _drop_database() -> None:
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')


def _login(args: tuple[str, str]) -> None:
    from imapclient import IMAPClient

    address, token = args
    with IMAPClient("127.0.0.1", port=IMAP_PORT, ssl=False, timeout=30) as client:
        client.oauth2_login(address, token)
        client.noop()
        client.logout()


def raw_rate(pairs: list[tuple[str, str]], workers: int) -> float:
    """The same logins, from a plain script: no queue, no database."""
    started = time.perf_counter()
    with ProcessPoolExecutor(workers) as pool:
        list(pool.map(_login, pairs, chunksize=10))
    return len(pairs) / (time.perf_counter() - started)


def _peak_rss_mb(pids: list[int]) -> float:
    peaks = []
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except FileNotFoundError:
            continue
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                peaks.append(int(line.split()[1]) / 1024)
    return max(peaks) if peaks else 0.0


def _descendants(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    children = [int(p) for p in out.split()]
    return children + [g for c in children for g in _descendants(c)]


def run_pass(kind: str, workers: int, env: dict[str, str], done) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Start W worker processes, queue one pass, wait until `done()`; returns (channels/s, peak MB per worker)."""
    import signal

    import redis

    from channels_app import tasks

    redis.Redis.from_url(REDIS_URL).flushdb()
    cluster = subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=ROOT,
        env={**env, "Q_WORKERS": str(workers)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        time.sleep(2)  # the cluster's processes start
        started = time.perf_counter()
        count = int(getattr(tasks, f"{kind}_pass")().split()[1])
        while not done():
            time.sleep(0.2)
        elapsed = time.perf_counter() - started
        peak = _peak_rss_mb(_descendants(cluster.pid))
    finally:
        os.killpg(cluster.pid, signal.SIGKILL)
        cluster.wait()
    return count / elapsed, peak


def main() -> None:
    sys.path.insert(0, str(HERE))
    sys.path.insert(0, str(ROOT))
    c = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    database_url = _create_database()
    os.environ.update(
        {
            "DATABASE_URL": database_url,
            "REDIS_URL": REDIS_URL,
            "Q_CLUSTER_NAME": f"bench-{uuid.uuid4().hex[:6]}",
            "LOCAL_RATE_LIMIT": "0",  # measure our machinery, not the limiter (which would cap every W alike)
            "FANOUT_BATCH_SIZE": "10",
            "ALLOWED_HOSTS": "127.0.0.1",
        }
    )
    from _setup import django_for_bench

    try:
        django_for_bench("scale", http_port=HTTP_PORT, imap_port=IMAP_PORT)
        _measure(c)
    finally:
        from django.db import connections

        connections.close_all()
        _drop_database()


def _measure(c: int) -> None:

    from django.test import Client
    from django.utils import timezone

    from channels_app.models import (
        Channel,
        Company,
        CompanyMembership,
        Inbox,
        InboxKind,
        MailFolder,
        Message,
        Role,
        User,
        Workspace,
    )
    from channels_app.tasks import probe_channel, sync_channel
    from localprovider import control
    from tests.provider_fixtures import store_issued_tokens
    from tests.query_count import queries_during

    instance = control.Instance(dir=ROOT / ".testbed" / "bench-scale", http_port=HTTP_PORT, imap_port=IMAP_PORT)
    control.start(instance)
    try:
        run = uuid.uuid4().hex[:6]
        addresses = control.create_mailboxes(instance, [(f"s{run}-{i}@acme.test", "pw") for i in range(c)])
        tokens = control.issue_tokens(instance, addresses)
        for address in addresses:
            control.append_messages(instance, address, [control.make_message(recipient=address)])
        company = Company.objects.create(name="Scale")
        workspace = Workspace.objects.create(company=company, name="Support")
        admin = User.objects.create(username="admin@scale.test", email="admin@scale.test")
        CompanyMembership.objects.create(user=admin, company=company, role=Role.ADMIN)
        for address in addresses:
            inbox = Inbox.objects.create(company=company, name=address, kind=InboxKind.SHARED, workspace=workspace)
            channel = Channel.objects.create(inbox=inbox, provider="local", address=address)
            store_issued_tokens(channel, tokens[address])
        pairs = [(a, str(tokens[a]["access_token"])) for a in addresses]
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"}

        # Queries per channel, measured in this process on one channel.
        probe_id = Channel.objects.order_by("pk").values_list("pk", flat=True).first()
        probe_queries = queries_during(lambda: probe_channel(probe_id, respect_backoff=False))
        sync_queries = queries_during(lambda: sync_channel(probe_id, respect_backoff=False))
        print(f"channels: {c}; queries per channel: probe {probe_queries}, sync {sync_queries}")
        print(f"{'pass':<6} {'W':>2} {'channels/s':>11} {'raw logins/s':>13} {'ratio':>6} {'peak MB/worker':>15}")
        rows = []
        for workers in WORKER_COUNTS:
            raw = raw_rate(pairs, workers)
            mark = timezone.now()
            Channel.objects.update(next_attempt_at=None)
            probe_rate, probe_peak = run_pass(
                "probe",
                workers,
                env,
                lambda m=mark: (
                    not Channel.objects.filter(last_checked_at__lt=m).exists()
                    and not Channel.objects.filter(last_checked_at__isnull=True).exists()
                ),
            )
            Message.objects.all().delete()
            MailFolder.objects.all().delete()
            Channel.objects.update(next_attempt_at=None)
            sync_rate, sync_peak = run_pass(
                "sync",
                workers,
                env,
                lambda: MailFolder.objects.filter(last_uid__gt=0).count() == Channel.objects.count(),
            )
            rows.append((workers, raw, probe_rate, sync_rate))
            for name, rate, peak in (("probe", probe_rate, probe_peak), ("sync", sync_rate, sync_peak)):
                print(f"{name:<6} {workers:>2} {rate:>11.1f} {raw:>13.1f} {rate / raw:>6.2f} {peak:>15.1f}")
        base = rows[0]
        for workers, raw, probe_rate, sync_rate in rows[1:]:
            print(
                f"W={workers} vs W=1: raw {raw / base[1]:.2f}x, probe {probe_rate / base[2]:.2f}x, "
                f"sync {sync_rate / base[3]:.2f}x"
            )
    finally:
        control.stop(instance)

    # The Channels page at 10, 100 and 1,000 channels in one workspace.
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(admin)
    print(f"{'channels':>9} {'queries':>8} {'median ms':>10}")
    results = []
    for size in (10, 100, 1000):
        page_ws = Workspace.objects.create(company=company, name=f"Page {size}")
        for i in range(size):
            inbox = Inbox.objects.create(company=company, name=f"p{size}-{i}", kind=InboxKind.SHARED, workspace=page_ws)
            Channel.objects.create(
                inbox=inbox,
                provider="gmail",
                address=f"p{size}-{i}@acme.test",
                status="needs_reauth" if i % 7 == 0 else "active",
            )
        url = f"/settings/workspaces/{page_ws.pk}/channels/"
        client.get(url)
        page_queries = queries_during(lambda u=url: client.get(u))
        times = []
        for _ in range(20):
            started = time.perf_counter()
            assert client.get(url).status_code == 200
            times.append((time.perf_counter() - started) * 1000)
        results.append((size, page_queries, statistics.median(times)))
        print(f"{size:>9} {page_queries:>8} {statistics.median(times):>10.1f}")
    print(
        f"1,000 vs 10 channels: queries {results[2][1]} vs {results[0][1]}, "
        f"render time ratio {results[2][2] / results[0][2]:.2f}"
    )


if __name__ == "__main__":
    main()
