"""New-mail latency and provider logins for the four ways mail arrives, in one run.

One Local mail instance; the app as in production (`make run`): `manage.py runserver`, one `qcluster`
(ORM broker, Q_WORKERS=2) and the IDLE listener `manage.py listen`, all real processes on one SQLite
database. Four channels:

- Gmail push: a google-persona mailbox with a watch (users.watch); Local mail pushes each delivery,
  signed, to `/push/gmail/`.
- Graph: a microsoft-persona mailbox with a Graph subscription (validation handshake included); Local
  mail posts a notification per delivery.
- IDLE: a plain IMAP channel (password); Dovecot announces each delivery to the listener.
- polling: a plain IMAP channel the listener leaves alone (marked as on a server without IDLE, as the
  listener itself marks one), found by the real scheduled `sync_pass` every SYNC_INTERVAL_MINUTES (1):
  a django-q2 Schedule, checked by the cluster every 30 s. Real polls, not a simulated wait.

The listener holds every channel selectors.idle_candidates gives it (every provider has `idle_push`, Gmail
and Microsoft included): the script does not choose. For a channel whose IDLE it holds, it syncs what the
server announces over that connection, and the Gmail and Graph webhooks hand their push to it
(idle_lease.idle_sync_request) instead of queueing a worker's sync; the report says which imports a queued
task made, the rest being the listener's.

Phases, with the logins, connections and token-endpoint requests of each channel counted at Local mail
between them (Dovecot's log: `Login: user=<…>`, refused logins, closed sessions; Local mail's http.log:
`token request: mailbox=…`, and the Gmail and Graph API requests):
1. start: the listener connects (each connection syncs over itself), the first scheduled sync pass;
2. deliveries: N per path, interleaved in random order at random gaps over `--seconds`, latency from
   just before the delivery at Local mail to `Message.imported_at`;
3. one of each scheduled pass, run on the real qcluster once every timestamp it reads is as old as it gets
   in steady state (moved back): the sync pass with each channel's last sync PUSH_POLL_INTERVAL_SECONDS and a
   pass ago; the probe pass with each channel's last login as old as it gets between logins (a held
   channel's IDLE_RELOGIN_MINUTES, just before its relogin; the polled channel's a pass and the cluster's
   30 s); the renewal pass; the keep-alive pass. Which of the channels each pass selected is printed;
4. restart: the listener is stopped (SIGTERM) and started again with IDLE_RELOGIN_MINUTES=1, which
   measures a listener (re)start, and then
5. relogin: each held channel's first relogin (LOGOUT, a new login, the safety-net sync over it), a minute
   later instead of 25.
Per day = the measured cost per message and per pass or relogin × how often each happens (from settings
and tasks.py: printed with each row).

Run: `.venv/bin/python bench/new_mail.py [--deliveries 100] [--seconds 300]` (about 9 minutes).
Ports: Local mail 9610/15610 (Dovecot 16610), the web server 9620.
"""

import argparse
import os
import random
import re
import subprocess
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta

from _figures import DAY, Cost, Recurring, per_day, percentile, token_refreshes_per_day
from _setup import bench_workspace, django_for_bench, imap_channel, manage, oauth_channel, stop

HTTP, IMAP, WEB = 9610, 15610, 9620
TOPIC = "projects/local-mail/topics/bench-new-mail"
os.environ.update(
    GMAIL_PUBSUB_TOPIC=TOPIC,
    GRAPH_NOTIFICATIONS="1",
    SITE_URL=f"http://127.0.0.1:{WEB}",
    Q_WORKERS="2",
    SYNC_INTERVAL_MINUTES="1",
)
django_for_bench("newmail", http_port=HTTP, imap_port=IMAP)

from django.conf import settings  # noqa: E402
from django.db import close_old_connections  # noqa: E402
from django.db.models import F  # noqa: E402
from django.utils import timezone  # noqa: E402
from django_q.models import OrmQ, Schedule, Task  # noqa: E402

from channels_app import crypto, tasks  # noqa: E402
from channels_app.management.commands.ensure_schedules import SCHEDULES  # noqa: E402
from channels_app.models import Channel, ChannelStatus, GraphSubscription, Message  # noqa: E402
from channels_app.providers import get_provider  # noqa: E402
from channels_app.selectors import due, idle_candidates  # noqa: E402
from localprovider import control  # noqa: E402
from localprovider.processes import port_accepts, wait_until  # noqa: E402

PATHS = ("Gmail push", "Graph", "IDLE", "polling")
ACCESS_TOKEN_SECONDS = int(os.environ.get("LOCAL_PROVIDER_ACCESS_TOKEN_SECONDS", "3600"))
TASK_LABELS = {
    "channels_app.tasks.gmail_push_channel": "Gmail push",
    "channels_app.tasks.push_sync_channel": "Graph notification",
    "channels_app.tasks.new_mail_channel": "IDLE announcement",
    "channels_app.tasks.run_batch": "scheduled pass",
}


# --- counting at Local mail -----------------------------------------------------------------------

LOGIN = re.compile(r"imap-login: Info: Login: user=<([^>]+)>")
REFUSED = re.compile(r"imap-login: Info: .*\(auth failed.*user=<([^>]+)>")
CLOSED = re.compile(r"imap\(([^)]+)\)<[^>]*><[^>]*>: Info: (?:Disconnected|Connection closed)")
TOKEN = re.compile(r"token request: mailbox=(\S+) ")
API = {"gmail": re.compile(r'"\w+ /gmail/v1/'), "microsoft": re.compile(r'"\w+ /graph/v1\.0/')}


@dataclass(frozen=True)
class Counts:
    """Per address: logins, refused logins, sessions closed, token requests; API requests per provider."""

    logins: Counter[str]
    refused: Counter[str]
    closed: Counter[str]
    tokens: Counter[str]
    api: Counter[str]

    def __sub__(self, before: "Counts") -> "Counts":
        return Counts(*(getattr(self, f.name) - getattr(before, f.name) for f in fields(self)))


def read_counts(instance: control.Instance) -> Counts:
    dovecot = instance.dovecot_log.read_text(errors="replace")
    http = instance.http_log.read_text(errors="replace")
    return Counts(
        logins=Counter(LOGIN.findall(dovecot)),
        refused=Counter(REFUSED.findall(dovecot)),
        closed=Counter(CLOSED.findall(dovecot)),
        tokens=Counter(TOKEN.findall(http)),
        api=Counter({provider: len(pattern.findall(http)) for provider, pattern in API.items()}),
    )


# --- what the qcluster ran ------------------------------------------------------------------------


@dataclass
class TaskLog:
    """Every task the cluster finished during the run, read as they end: django-q2 keeps only the newest
    250 successes (save_limit)."""

    since: datetime
    seen: dict[str, tuple[str, str, bool]] = field(default_factory=dict)
    stopping: threading.Event = field(default_factory=threading.Event)

    def collect(self) -> None:
        while not self.stopping.wait(0.5):
            self.read()
        close_old_connections()

    def read(self) -> None:
        for task in Task.objects.filter(stopped__gte=self.since).only("id", "func", "result", "success"):
            self.seen.setdefault(task.id, (task.func, str(task.result or ""), task.success))

    def imports(self) -> dict[str, dict[str, tuple[int, int]]]:
        """{address: {task label: (messages imported, syncs run)}}, from each task's result lines
        (`address: outcome — detail`)."""
        imported: dict[str, Counter[str]] = defaultdict(Counter)
        syncs: dict[str, Counter[str]] = defaultdict(Counter)
        for func, result, _ in list(self.seen.values()):
            label = TASK_LABELS.get(func, func.rsplit(".", 1)[-1])
            for line in result.splitlines():
                match = re.match(r"(\S+): .*imported (\d+) new message", line)
                if match:
                    imported[match[1]][label] += int(match[2])
                    syncs[match[1]][label] += 1
        return {a: {label: (imported[a][label], n) for label, n in syncs[a].most_common()} for a in syncs}

    def failures(self) -> int:
        return sum(1 for _, _, success in list(self.seen.values()) if not success)


def drained(quiet: float = 3.0, timeout: float = 180) -> None:
    """Wait until the queue has been empty for `quiet` seconds (the ORM broker deletes a task once done)."""
    deadline, empty_since = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        if OrmQ.objects.exists():
            empty_since = None
        elif empty_since is None:
            empty_since = time.monotonic()
        elif time.monotonic() - empty_since >= quiet:
            return
        time.sleep(0.25)
    raise SystemExit("the queue did not drain")


# --- the run --------------------------------------------------------------------------------------


@dataclass
class Run:
    instance: control.Instance
    channels: dict[str, Channel]
    latency: dict[str, list[float]] = field(default_factory=dict)
    phases: dict[str, Counts] = field(default_factory=dict)
    idling: set[int] = field(default_factory=set)  # the channels the listener held
    selected: dict[str, set[str]] = field(default_factory=dict)  # pass → the paths whose channel it picked
    load: str = ""  # the 1-minute load average, lowest and highest seen during the deliveries
    elapsed: float = 0.0


def make_channels(instance: control.Instance) -> dict[str, Channel]:
    workspace = bench_workspace()
    plain = {}
    for name in ("idle", "poll"):
        address = control.create_mailbox(instance, f"{name}-{time.time_ns()}@acme.test", "pw")
        plain[name] = imap_channel(workspace, address=address, password="pw", port=instance.imap_port)
    # What the listener records for a server without IDLE: left to the scheduled poll.
    Channel.objects.filter(pk=plain["poll"].pk).update(idle_unsupported_at=timezone.now())
    return {
        "Gmail push": oauth_channel(instance, workspace, "gmail", "gmail"),
        "Graph": oauth_channel(instance, workspace, "microsoft", "graph"),
        "IDLE": plain["idle"],
        "polling": plain["poll"],
    }


def deliver_all(run: Run, n: int, seconds: float) -> None:
    """N deliveries per path, in rounds of one per path in random order, at random gaps averaging
    seconds / (4 N), so every path's mail arrives over the same minutes and polling samples whole cycles."""
    delivered: dict[str, tuple[str, datetime]] = {}
    mean_gap = seconds / (len(PATHS) * n)
    started = time.monotonic()
    loads = [os.getloadavg()[0]]
    for i in range(n):
        loads.append(os.getloadavg()[0])
        for path in random.sample(PATHS, len(PATHS)):
            channel = run.channels[path]
            subject = f"{path} {i} {time.time_ns()}"
            message = control.make_message(recipient=channel.address, subject=subject)
            delivered[subject] = (path, timezone.now())
            control.append_messages(run.instance, channel.address, [message])
            time.sleep(random.uniform(0.5, 1.5) * mean_gap)
    everything = Message.objects.filter(subject__in=list(delivered))
    # The last polled message waits for the next pass: up to a minute, and the cluster looks every 30 s.
    wait_until(lambda: everything.count() == len(delivered), timeout=150, interval=0.5)
    run.elapsed = time.monotonic() - started
    run.load = f"{min(loads):.1f}–{max(loads):.1f}"
    stored = dict(everything.values_list("subject", "imported_at"))
    missing = Counter(path for subject, (path, _) in delivered.items() if subject not in stored)
    if missing:
        raise SystemExit(f"not stored: {dict(missing)}")
    run.latency = {path: [] for path in PATHS}
    for subject, (path, at) in delivered.items():
        run.latency[path].append((stored[subject] - at).total_seconds())


def each_pass(run: Run, log: TaskLog) -> None:
    """One of each scheduled pass, run on the cluster once the timestamps it reads are as old as they get in
    steady state (moved back), so a pass that leaves a channel out here leaves it out at any moment."""
    ids = [c.pk for c in run.channels.values()]
    channels = Channel.objects.filter(pk__in=ids)
    held = channels.filter(pk__in=run.idling)
    now = timezone.now()
    pass_seconds = settings.SYNC_INTERVAL_MINUTES * 60

    def logins_aged() -> None:
        # A held channel signs in every IDLE_RELOGIN_MINUTES; a polled one at every pass (the cluster checks
        # its schedules every 30 s).
        held.update(last_login_at=now - timedelta(minutes=settings.IDLE_RELOGIN_MINUTES))
        channels.exclude(pk__in=run.idling).update(last_login_at=now - timedelta(seconds=pass_seconds + 30))

    def renewal_due() -> None:
        channels.update(subscription_renewed_at=now - timedelta(hours=49))
        # Two days on, Graph's stored access token (an hour) has expired too: the renewal refreshes it.
        for sub in GraphSubscription.objects.filter(channel__in=channels).exclude(token_ciphertext=""):
            stored = crypto.decrypt_json(sub.token_ciphertext)
            stored["expires_at"] = (now - timedelta(hours=1)).isoformat()
            GraphSubscription.objects.filter(pk=sub.pk).update(token_ciphertext=crypto.encrypt_json(stored))

    steps = (
        (
            "sync pass",
            lambda: channels.update(
                last_synced_at=now - timedelta(seconds=settings.PUSH_POLL_INTERVAL_SECONDS + pass_seconds)
            ),
            due.channels_to_sync,
            tasks.sync_pass,
        ),
        ("probe pass", logins_aged, due.channels_to_probe, tasks.probe_pass),
        ("renewal pass", renewal_due, None, tasks.renewal_pass),
        (
            "keep-alive pass",
            lambda: channels.update(token_refreshed_at=now - timedelta(hours=settings.KEEPALIVE_AFTER_HOURS + 1)),
            None,
            tasks.keep_alive_pass,
        ),
    )
    for name, make_due, selects, run_pass in steps:
        make_due()
        if selects is not None:
            picked = set(selects().filter(pk__in=ids).values_list("pk", flat=True))
            run.selected[name] = {path for path, c in run.channels.items() if c.pk in picked}
        before = read_counts(run.instance)
        print(f"  {name}: {run_pass()}")
        drained()
        time.sleep(1)  # Dovecot's log lines of the last sessions
        run.phases[name] = read_counts(run.instance) - before
    log.read()


def restart_and_relogin(run: Run, processes: list[subprocess.Popen[bytes]]) -> None:
    """Stop the listener (the last of `processes`), start it again with IDLE_RELOGIN_MINUTES=1 in its place, and
    count the restart and then each held channel's first relogin (its login and its safety-net sync over the
    new connection)."""
    held = Channel.objects.filter(pk__in=run.idling)
    before = read_counts(run.instance)
    stop(processes.pop())
    started = timezone.now()
    processes.append(manage("listen", env={"IDLE_RELOGIN_MINUTES": "1"}))
    # Idling, and the sync each new connection runs over itself done.
    settled = held.filter(idle_since__isnull=False, last_synced_at__gt=started)
    assert wait_until(lambda: settled.count() == len(run.idling), timeout=60, interval=0.25), "no restart"
    drained()
    time.sleep(1)
    run.phases["restart"] = read_counts(run.instance) - before
    before = read_counts(run.instance)
    logged_in = dict(held.values_list("pk", "last_login_at"))
    # Signed in again, and the safety-net sync over the new connection done.
    relogged = [
        held.filter(pk=pk, last_login_at__gt=at, last_synced_at__gt=F("last_login_at")) for pk, at in logged_in.items()
    ]
    assert wait_until(lambda: all(q.exists() for q in relogged), timeout=120, interval=0.25), "no relogin"
    time.sleep(1)
    run.phases["relogin"] = read_counts(run.instance) - before


def measure(instance: control.Instance, n: int, seconds: float) -> tuple[Run, TaskLog]:
    control.create_push_subscription(instance, TOPIC, f"http://127.0.0.1:{WEB}/push/gmail/")
    run = Run(instance, make_channels(instance))
    web = manage("runserver", f"127.0.0.1:{WEB}", "--noreload", "--skip-checks")
    processes = [web]
    log = TaskLog(since=timezone.now())
    try:
        assert wait_until(lambda: port_accepts("127.0.0.1", WEB), timeout=30), "runserver did not start"
        for channel in run.channels.values():
            print(f"  {channel.provider:9} {tasks.renew_subscription_channel(channel.pk)}")
            tasks.sync_channel(channel.pk)  # the first import, so each delivery is the only new mail
        func, minutes = SCHEDULES["sync pass"]
        Schedule.objects.create(
            name="sync pass", func=func, schedule_type=Schedule.MINUTES, minutes=minutes(), repeats=-1
        )
        before = read_counts(instance)
        processes += [manage("qcluster"), manage("listen")]
        collector = threading.Thread(target=log.collect, daemon=True)
        collector.start()
        # Whichever channels the listener takes (selectors.idle_candidates): the code decides, not this script.
        wanted = idle_candidates(timezone.now()).filter(pk__in=[c.pk for c in run.channels.values()]).count()
        held = Channel.objects.filter(idle_since__isnull=False)
        assert wait_until(lambda: held.count() == wanted, timeout=60, interval=0.5), "the listener is not idling"
        drained()
        time.sleep(1)
        run.phases["start"] = read_counts(instance) - before
        run.idling = set(held.values_list("pk", flat=True))
        print(f"  listener idling on: {', '.join(sorted(held.values_list('provider', flat=True)))}")

        before = read_counts(instance)
        deliver_all(run, n, seconds)
        drained()
        time.sleep(1)
        run.phases["deliveries"] = read_counts(instance) - before
        Schedule.objects.filter(name="sync pass").delete()
        drained()
        each_pass(run, log)
        restart_and_relogin(run, processes)
    finally:
        log.stopping.set()
        stop(*processes)
    log.read()
    return run, log


# --- the report -----------------------------------------------------------------------------------


def recurring(channel: Channel, run: Run) -> list[Recurring]:
    """What a channel pays every day whatever its mail: the scheduled passes (tasks.py, ensure_schedules), each
    at the cost measured when its timestamps were as old as they get (so a pass that skipped the channel
    there skips it every time), the listener's relogins and restarts for a channel it holds, and the
    access token's refreshes."""
    cost = {name: _cost(run.phases[name], channel) for name in run.phases}
    pass_seconds = settings.SYNC_INTERVAL_MINUTES * 60
    provider = get_provider(channel.provider)
    held = channel.pk in run.idling
    relogin_seconds = settings.IDLE_RELOGIN_MINUTES * 60
    items = [
        Recurring("sync pass", DAY / pass_seconds, cost["sync pass"]),
        Recurring("probe pass", 24 * 60 / settings.PROBE_INTERVAL_MINUTES, cost["probe pass"]),
        Recurring("renewal", 24 / provider.renewal_after_hours, cost["renewal pass"]),
    ]
    if held:
        items += [
            Recurring("relogin", DAY / relogin_seconds, cost["relogin"]),
            # Re-issuing IDLE needs no login (and the relogin comes first); a deploy restarts the listener.
            Recurring("listener restart, assumed daily", 1, cost["restart"]),
        ]
    if provider.uses_oauth:
        # Refreshed at the first login that finds it within TOKEN_REFRESH_MARGIN_SECONDS of expiring; the
        # keep-alive pass then never finds it KEEPALIVE_AFTER_HOURS old.
        refresh = token_refreshes_per_day(
            token_seconds=ACCESS_TOKEN_SECONDS,
            margin_seconds=settings.TOKEN_REFRESH_MARGIN_SECONDS,
            used_every=relogin_seconds if held else pass_seconds,
        )
        items.append(Recurring("access token refresh", refresh, Cost(tokens=1), measured=False))
    return items


def _cost(counts: Counts, channel: Channel) -> Cost:
    return Cost(logins=counts.logins[channel.address], tokens=counts.tokens[channel.address])


def report(run: Run, log: TaskLog, n: int) -> None:
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"\n{n} deliveries per path, interleaved over {run.elapsed:.0f} s (until the last one was stored); "
        f"load average at the end {load} (1, 5, 15 min); load during the deliveries {run.load}; "
        f"task failures {log.failures()}"
    )
    print(
        f"{os.cpu_count()} cores; SYNC_INTERVAL_MINUTES {settings.SYNC_INTERVAL_MINUTES} (real scheduled passes), "
        f"PUSH_POLL_INTERVAL_SECONDS {settings.PUSH_POLL_INTERVAL_SECONDS}, "
        f"PROBE_INTERVAL_MINUTES {settings.PROBE_INTERVAL_MINUTES}, IDLE_RELOGIN_MINUTES "
        f"{settings.IDLE_RELOGIN_MINUTES}, Q_WORKERS {settings.Q_CLUSTER['workers']}, access tokens "
        f"{ACCESS_TOKEN_SECONDS} s"
    )
    deliveries = run.phases["deliveries"]
    imports = log.imports()
    print("\n| path | p50 | p95 | max | p95 ≤ 3 s | imported by |\n| --- | --- | --- | --- | --- | --- |")
    for path in PATHS:
        values, channel = run.latency[path], run.channels[path]
        p95 = percentile(values, 95)
        goal = "(polling)" if path == "polling" else ("met" if p95 <= 3 else "NOT met")
        by_tasks = imports.get(channel.address, {})
        parts = [f"{label} {k} in {syncs} syncs" for label, (k, syncs) in by_tasks.items() if k]
        listener = n - sum(k for k, _ in by_tasks.values())
        if channel.pk in run.idling:
            parts.insert(0, f"the listener over its connection {listener}")
        by = ", ".join(parts)
        print(f"| {path} | {percentile(values, 50):.2f} s | {p95:.2f} s | {max(values):.2f} s | {goal} | {by} |")

    print("\nCounted at Local mail, per channel (logins = IMAP connections signed in; Dovecot's log):")
    print("| channel | phase | logins | refused | held open after | token requests | API requests |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    held: Counter[str] = Counter()
    for phase, counts in run.phases.items():
        for path in PATHS:
            channel = run.channels[path]
            a = channel.address
            held[a] += counts.logins[a] - counts.closed[a]
            api = counts.api[channel.provider] if channel.provider in API else 0
            row = (path, phase, counts.logins[a], counts.refused[a], held[a], counts.tokens[a], api)
            print("| " + " | ".join(str(x) for x in row) + " |")
    for name, paths in run.selected.items():
        print(f"{name} selected (timestamps as old as they get): {', '.join(sorted(paths)) or 'none of them'}")
    for path in PATHS[:3]:
        a = run.channels[path].address
        per = deliveries.logins[a] / n
        print(f"{path}: {per:.2f} logins and {deliveries.tokens[a] / n:.2f} token requests per delivery")
    polls = sum(syncs for _, (_, syncs) in imports.get(run.channels["polling"].address, {}).items())
    print(f"polling: {deliveries.logins[run.channels['polling'].address]} logins during the deliveries, ", end="")
    print(f"{polls} scheduled syncs in the whole run")

    print("\nLogins per channel per day (messages spread evenly over the day); goal: polling ÷ path ≥ 20:")
    print("| mail a day | " + " | ".join(PATHS) + " | polling ÷ " + " | polling ÷ ".join(PATHS[:3]) + " |")
    print("| --- " * (len(PATHS) + 4) + "|")
    daily = {}
    for volume in (20, 100, 200):
        for path in PATHS:
            channel = run.channels[path]
            per_message = Cost() if path == "polling" else _cost(deliveries, channel) * (1 / n)
            daily[volume, path] = per_day(per_message, volume, recurring(channel, run))
        logins = [daily[volume, p].logins for p in PATHS]
        ratios = [logins[-1] / x if x else float("inf") for x in logins[:3]]
        print(
            f"| {volume} | "
            + " | ".join(f"{x:,.1f}" for x in logins)
            + " | "
            + " | ".join(f"{r:.1f}× ({'met' if r >= 20 else 'NOT met'})" for r in ratios)
            + " |"
        )
    print(
        "\nToken-endpoint requests per channel per day: "
        + "; ".join(f"{p} {daily[100, p].tokens:.1f}" for p in PATHS)
        + " (at 100 a day)"
    )
    unwell = Channel.objects.filter(pk__in=[c.pk for c in run.channels.values()]).exclude(status=ChannelStatus.ACTIVE)
    for channel in unwell:
        print(f"\nNOTE: {channel.provider} channel ended the run {channel.status}: {channel.last_error}")
    print("\nWhere each daily figure comes from (at 100 messages a day):")
    for path in PATHS:
        channel = run.channels[path]
        parts = [
            "messages: none of their own, the poll finds them"
            if path == "polling"
            else f"messages: 100 × {deliveries.logins[channel.address] / n:g} login(s) per delivery (measured)"
        ]
        for item in recurring(channel, run):
            each = f"{item.cost.logins:g} login(s) + {item.cost.tokens:g} token request(s)"
            parts.append(
                f"{item.what}: {item.per_day:.1f}/day × {each} ({'measured' if item.measured else 'computed'})"
            )
        print(f"- {path}: " + "; ".join(parts))
    print("(how often: computed from settings and tasks.py; what each costs: measured above unless marked computed)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--deliveries", type=int, default=100, help="per path")
    parser.add_argument("--seconds", type=float, default=300, help="over how long all deliveries are spread")
    args = parser.parse_args()
    instance = control.start(control.instance_from_env())
    try:
        run, log = measure(instance, args.deliveries, args.seconds)
    finally:
        control.stop(instance)
    report(run, log, args.deliveries)


if __name__ == "__main__":
    main()
