"""Prometheus metrics for operators, with prometheus_client (https://prometheus.github.io/client_python/).

Two sources, each where it is exact:
- channels by status and provider: a gauge computed from the database at scrape time (one GROUP BY), so
  every web process answers the same whatever process changed a channel;
- what happens in a process (syncs, pushes, alerts, imports, failures): counters and histograms that the
  process observing it increments. Syncs run in qcluster workers and IDLE listeners, not in the web process
  that answers the scrape: with PROMETHEUS_MULTIPROC_DIR set (the same directory for every process of a
  machine, emptied before they start), prometheus_client's multiprocess mode writes each process's values
  to files there and the scrape adds them up (https://prometheus.github.io/client_python/multiprocess/).
  Without it a scrape shows the web process's own counters only. README "Deploying" says how to run it.

Label values are bounded: providers and statuses are our own choices, alert kinds our NotificationKind,
failure classes our FailureKind; provider codes are the provider's own (AADSTS53003, invalid_grant) and are
cut to CODE_LENGTH characters.
"""

import enum
import os
from collections.abc import Iterable, Iterator
from datetime import datetime

from django.db.models import Count
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from channels_app.models import Channel, ChannelStatus
from channels_app.providers.registry import provider_classes

CODE_LENGTH = 60


class MailPath(enum.StrEnum):
    """How a push-triggered sync was told of new mail."""

    GMAIL_PUSH = "gmail_push"
    GRAPH = "graph"
    IDLE = "idle"


SYNC_SECONDS = Histogram(
    "shared_inbox_sync_duration_seconds",
    "How long a sync that succeeded took, from its start (login or held connection) to its last batch stored.",
    ["provider"],
    buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600),
)
PUSH_LATENCY = Histogram(
    "shared_inbox_push_latency_seconds",
    "From a message's arrival at the provider (its INTERNALDATE, whole seconds) to its storage by a sync "
    "that a push or IDLE announcement started.",
    ["provider", "path"],
    buckets=(1, 2, 5, 10, 20, 30, 60, 120, 300, 900, 3600),
)
ALERTS_SENT = Counter("shared_inbox_alerts_sent", "Alerts (notifications) sent to people, by kind.", ["kind"])
MESSAGES_IMPORTED = Counter(
    "shared_inbox_messages_imported",
    "Messages stored, by provider and whether a backfill (after an incident) or an ordinary sync stored them.",
    ["provider", "during"],
)
FAILURES = Counter(
    "shared_inbox_failures",
    "Failed background operations, by failure class (auth, policy, configuration, passing, crash), provider "
    "and the provider's code (the exception type for a crash).",
    ["failure_class", "provider", "code"],
)


def sync_finished(provider: str, seconds: float) -> None:
    SYNC_SECONDS.labels(provider=provider).observe(seconds)


def mail_stored(provider: str, path: MailPath, arrivals: Iterable[datetime], now: datetime) -> None:
    """Each message a push-triggered sync stored: how long after its arrival. A server clock ahead of ours
    would give a negative time: counted as 0."""
    histogram = PUSH_LATENCY.labels(provider=provider, path=path.value)
    for arrived in arrivals:
        histogram.observe(max((now - arrived).total_seconds(), 0.0))


def messages_imported(provider: str, *, backfill: bool, count: int) -> None:
    if count:
        MESSAGES_IMPORTED.labels(provider=provider, during="backfill" if backfill else "sync").inc(count)


def alert_sent(kind: str) -> None:
    ALERTS_SENT.labels(kind=kind).inc()


def failure(failure_class: str, provider: str, code: str) -> None:
    FAILURES.labels(failure_class=failure_class, provider=provider, code=code[:CODE_LENGTH]).inc()


class ChannelsCollector(Collector):
    """Channels by status and provider, read from the database at each scrape; every pair is present (0 when
    none), so a status that empties reads 0 rather than vanishing."""

    def describe(self) -> Iterator[Metric]:
        # Registering must not query the database (prometheus_client calls describe, else collect).
        yield self._family()

    def collect(self) -> Iterator[Metric]:
        counts = {
            (row["status"], row["provider"]): row["n"]
            for row in Channel.objects.order_by().values("status", "provider").annotate(n=Count("pk"))
        }
        family = self._family()
        for status in ChannelStatus.values:
            for provider in provider_classes():
                family.add_metric([status, provider], counts.get((status, provider), 0))
        yield family

    @staticmethod
    def _family() -> GaugeMetricFamily:
        return GaugeMetricFamily(
            "shared_inbox_channels", "Channels by status and provider.", labels=["status", "provider"]
        )


_DATABASE = CollectorRegistry(auto_describe=False)
_DATABASE.register(ChannelsCollector())


def multiprocess_dir() -> str:
    # prometheus_client reads the same variable when it is imported: values go to files there.
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")


def process_metrics() -> bytes:
    """What the processes observed: every process of this machine in multiprocess mode, else this one's."""
    if not multiprocess_dir():
        return generate_latest(REGISTRY)
    processes = CollectorRegistry()
    multiprocess.MultiProcessCollector(processes)
    return generate_latest(processes)


def exposition() -> bytes:
    """The text a scrape gets: the processes' metrics, then the database's. Two registries in one answer
    is fine: the text format only asks that no name repeats."""
    return process_metrics() + generate_latest(_DATABASE)
