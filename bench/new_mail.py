"""New-mail latency and provider logins for the four ways mail arrives, in one run.

One Local mail instance; the app as in production (`make run`): `manage.py runserver`, one `qcluster`
(ORM broker, Q_WORKERS=2) and the IDLE listener `manage.py listen`, all real processes on one SQLite
database. Four channels:

- Gmail push: a google-persona mailbox with a watch (users.watch); Local mail pushes each delivery,
  signed, to `/push/gmail/`, which queues `gmail_push_channel` (history.list, then the IMAP sync).
- Graph: a microsoft-persona mailbox with a Graph subscription (validation handshake included); Local
  mail posts a notification per delivery, which queues `push_sync_channel`.
- IDLE: a plain IMAP channel (password) that the listener holds; Dovecot announces the delivery and the
  listener queues `new_mail_channel`.
- polling: a plain IMAP channel the listener leaves alone (marked as on a server without IDLE, as the
  listener itself marks one), found by the real scheduled `sync_pass` every SYNC_INTERVAL_MINUTES (1):
  a django-q2 Schedule, checked by the cluster every 30 s. Real polls, not a simulated wait.

The listener holds every channel whose provider has `idle_push` (today every provider, Gmail and
Microsoft included): the script does not choose, it reports which task imported each message.

Phases, with the logins, connections and token-endpoint requests of each channel counted at Local mail
between them (Dovecot's log: `Login: user=<…>`, refused logins, closed sessions; Local mail's http.log:
`token request: mailbox=…`, and the Gmail and Graph API requests):
1. start: the listener connects (each connection queues a sync), the first scheduled sync pass;
2. deliveries: N per path, interleaved in random order at random gaps over `--seconds`, latency from
   just before the delivery at Local mail to `Message.imported_at`;
3. one of each scheduled pass, run on the real qcluster after making it due (the timestamps it reads are
   moved back): the sync pass as the safety net sees a push channel PUSH_POLL_INTERVAL_SECONDS after its
   last sync, the probe pass, the renewal pass, the keep-alive pass.
Per day = the measured cost per message and per pass × how often each happens (computed from settings and
tasks.py: printed with each row).

Run: `.venv/bin/python bench/new_mail.py [--deliveries 100] [--seconds 300]` (about 7 minutes).
Ports: Local mail 9610/15610 (Dovecot 16610), the web server 9620.
"""

import argparse
import os
import random
import re
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta

from _figures import DAY, Cost, Recurring, per_day, percentile, safety_polls_per_day
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
from django.utils import timezone  # noqa: E402
from django_q.models import OrmQ, Schedule, Task  # noqa: E402

from channels_app import crypto, tasks  # noqa: E402
from channels_app.management.commands.ensure_schedules import SCHEDULES  # noqa: E402
from channels_app.models import Channel, ChannelStatus, GraphSubscription, Message  # noqa: E402
from channels_app.providers import get_provider  # noqa: E402
from channels_app.selectors import idle_candidates  # noqa: E402
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
    for i in range(n):
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
    stored = dict(everything.values_list("subject", "imported_at"))
    missing = Counter(path for subject, (path, _) in delivered.items() if subject not in stored)
    if missing:
        raise SystemExit(f"not stored: {dict(missing)}")
    run.latency = {path: [] for path in PATHS}
    for subject, (path, at) in delivered.items():
        run.latency[path].append((stored[subject] - at).total_seconds())


def each_pass(run: Run, log: TaskLog) -> None:
    """One of each scheduled pass, made due by moving back the timestamps it reads, run on the cluster."""
    channels = Channel.objects.filter(pk__in=[c.pk for c in run.channels.values()])
    now = timezone.now()
    pass_seconds = settings.SYNC_INTERVAL_MINUTES * 60

    def renewal_due() -> None:
        channels.update(subscription_renewed_at=now - timedelta(hours=49))
        # Two days on, Graph's stored access token (an hour) has expired too: the renewal refreshes it.
        for sub in GraphSubscription.objects.filter(channel__in=channels).exclude(token_ciphertext=""):
            stored = crypto.decrypt_json(sub.token_ciphertext)
            stored["expires_at"] = (now - timedelta(hours=1)).isoformat()
            GraphSubscription.objects.filter(pk=sub.pk).update(token_ciphertext=crypto.encrypt_json(stored))

    steps = (
        (
            "safety-net sync pass",
            lambda: channels.update(
                last_synced_at=now - timedelta(seconds=settings.PUSH_POLL_INTERVAL_SECONDS + pass_seconds)
            ),
            tasks.sync_pass,
        ),
        ("probe pass", lambda: None, tasks.probe_pass),
        ("renewal pass", renewal_due, tasks.renewal_pass),
        (
            "keep-alive pass",
            lambda: channels.update(token_refreshed_at=now - timedelta(hours=settings.KEEPALIVE_AFTER_HOURS + 1)),
            tasks.keep_alive_pass,
        ),
    )
    for name, make_due, run_pass in steps:
        make_due()
        before = read_counts(run.instance)
        print(f"  {name}: {run_pass()}")
        drained()
        time.sleep(1)  # Dovecot's log lines of the last sessions
        run.phases[name] = read_counts(run.instance) - before
    log.read()


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
    finally:
        log.stopping.set()
        stop(*processes)
    log.read()
    return run, log


# --- the report -----------------------------------------------------------------------------------


def recurring(channel: Channel, run: Run, *, polled: bool, mail_per_day: int) -> list[Recurring]:
    """What a channel pays every day whatever its mail: the scheduled passes (tasks.py, ensure_schedules),
    the held IDLE connection, and the access token's refreshes."""
    cost = {name: _cost(run.phases[name], channel) for name in run.phases}
    pass_seconds = settings.SYNC_INTERVAL_MINUTES * 60
    provider = get_provider(channel.provider)
    items = [
        Recurring(
            "sync pass" if polled else "safety-net poll",
            DAY / pass_seconds
            if polled
            else safety_polls_per_day(
                mail_per_day, push_poll_seconds=settings.PUSH_POLL_INTERVAL_SECONDS, pass_seconds=pass_seconds
            ),
            cost["safety-net sync pass"],
        ),
        Recurring("probe pass", 24 * 60 / settings.PROBE_INTERVAL_MINUTES, cost["probe pass"]),
        Recurring("renewal", 24 / provider.renewal_after_hours, cost["renewal pass"]),
    ]
    if channel.pk in run.idling:
        # Re-issuing IDLE uses the held connection (services/idle.py); a listener (re)start signs in again
        # and queues a sync, as measured in the start phase: once a day is assumed.
        items.append(Recurring("listener (re)start, assumed daily", 1, cost["start"]))
    if provider.uses_oauth:
        # Used at least every probe pass, the access token is refreshed TOKEN_REFRESH_MARGIN_SECONDS before
        # it expires; the keep-alive pass then never finds it KEEPALIVE_AFTER_HOURS old.
        refresh = DAY / (ACCESS_TOKEN_SECONDS - settings.TOKEN_REFRESH_MARGIN_SECONDS)
        items.append(Recurring("access token refresh", refresh, Cost(tokens=1), measured=False))
    return items


def _cost(counts: Counts, channel: Channel) -> Cost:
    return Cost(logins=counts.logins[channel.address], tokens=counts.tokens[channel.address])


def report(run: Run, log: TaskLog, n: int) -> None:
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"\n{n} deliveries per path, interleaved over {run.elapsed:.0f} s (until the last one was stored); "
        f"load average {load}; task failures {log.failures()}"
    )
    print(
        f"{os.cpu_count()} cores; SYNC_INTERVAL_MINUTES {settings.SYNC_INTERVAL_MINUTES} (real scheduled passes), "
        f"PUSH_POLL_INTERVAL_SECONDS {settings.PUSH_POLL_INTERVAL_SECONDS}, "
        f"PROBE_INTERVAL_MINUTES {settings.PROBE_INTERVAL_MINUTES}, Q_WORKERS {settings.Q_CLUSTER['workers']}, "
        f"access tokens {ACCESS_TOKEN_SECONDS} s"
    )
    deliveries = run.phases["deliveries"]
    imports = log.imports()
    print("\n| path | p50 | p95 | max | p95 ≤ 3 s | imported by (whole run) |\n| --- | --- | --- | --- | --- | --- |")
    for path in PATHS:
        values, channel = run.latency[path], run.channels[path]
        p95 = percentile(values, 95)
        goal = "(polling)" if path == "polling" else ("met" if p95 <= 3 else "NOT met")
        by = ", ".join(f"{label} {k} in {n} syncs" for label, (k, n) in imports.get(channel.address, {}).items())
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
    for path in PATHS[:3]:
        a = run.channels[path].address
        per = deliveries.logins[a] / n
        print(f"{path}: {per:.2f} logins and {deliveries.tokens[a] / n:.2f} token requests per delivery")
    polls = sum(n for label, (_, n) in imports.get(run.channels["polling"].address, {}).items())
    print(f"polling: {deliveries.logins[run.channels['polling'].address]} logins during the deliveries, ", end="")
    print(f"{polls} scheduled syncs in the whole run")

    print("\nPer channel per day (messages spread evenly over the day):")
    print("| mail a day | " + " | ".join(PATHS) + " | polling ÷ " + " | polling ÷ ".join(PATHS[:3]) + " |")
    print("| --- " * (len(PATHS) + 4) + "|")
    daily = {}
    for volume in (20, 100, 200):
        for path in PATHS:
            channel = run.channels[path]
            polled = path == "polling"
            per_message = Cost() if polled else _cost(deliveries, channel) * (1 / n)
            daily[volume, path] = per_day(
                per_message, volume, recurring(channel, run, polled=polled, mail_per_day=volume)
            )
        logins = [daily[volume, p].logins for p in PATHS]
        ratios = [logins[-1] / x for x in logins[:3]]
        print(
            f"| {volume} | "
            + " | ".join(f"{x:,.0f}" for x in logins)
            + " | "
            + " | ".join(f"{r:.1f}×" for r in ratios)
            + " |"
        )
    print(
        "\nToken-endpoint requests per channel per day: "
        + "; ".join(f"{p} {daily[100, p].tokens:.0f}" for p in PATHS)
        + " (at 100 a day)"
    )
    unwell = Channel.objects.filter(pk__in=[c.pk for c in run.channels.values()]).exclude(status=ChannelStatus.ACTIVE)
    for channel in unwell:
        print(f"\nNOTE: {channel.provider} channel ended the run {channel.status}: {channel.last_error}")
    print("\nWhere each daily figure comes from (at 100 messages a day):")
    for path in PATHS:
        channel = run.channels[path]
        polled = path == "polling"
        parts = [
            "messages: none of their own, the poll finds them" if polled else "messages: 100 × measured per delivery"
        ]
        for item in recurring(channel, run, polled=polled, mail_per_day=100):
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
