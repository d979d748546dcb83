"""Many workers on many machines: fan-out, at-least-once delivery, the shared rate limit,
and two real worker processes on the Redis broker syncing the same channels."""

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
from django.db import connection

from channels_app.models import Backfill, Channel, MailFolder, Message, Notification, ProviderRequestWindow
from channels_app.services.backfill import backfill_start
from channels_app.services.ratelimit import wait_for_request_slot
from channels_app.tasks import backfill_channel, run_batch, sync_pass
from localprovider import control
from tests.provider_fixtures import shared_database_url, store_issued_tokens

ROOT = Path(__file__).resolve().parent.parent


def test_a_pass_fans_out_small_batches_covering_every_due_channel(
    tenancy, make_inbox, make_channel, monkeypatch, settings
):
    settings.FANOUT_BATCH_SIZE = 3
    for _ in range(8):
        make_channel(inbox=make_inbox(workspace=tenancy.workspace))
    queued: list[list[int]] = []
    monkeypatch.setattr("channels_app.tasks.async_task", lambda _, func, ids, **kw: queued.append(ids))
    assert sync_pass() == "queued 10 channel(s) in 4 task(s)"
    assert sorted(i for batch in queued for i in batch) == sorted(Channel.objects.values_list("pk", flat=True))
    assert max(len(batch) for batch in queued) == 3


@pytest.mark.local_provider
def test_a_task_delivered_twice_does_no_harm(
    tenancy, make_mailbox, connect_local, local_provider, django_capture_on_commit_callbacks
):
    mailbox = make_mailbox()
    channel = connect_local(tenancy.shared_channel, mailbox)
    control.append_messages(
        local_provider, mailbox.address, [control.make_message(recipient=mailbox.address) for _ in range(4)]
    )
    run_batch("sync", [channel.pk])
    run_batch("sync", [channel.pk])
    assert Message.objects.filter(channel=channel).count() == 4
    backfill_start(channel_id=channel.pk, actor_id=tenancy.admin.pk, notify_user_ids=[tenancy.admin.pk])
    with django_capture_on_commit_callbacks(execute=True):
        backfill_channel(channel.pk)
        backfill_channel(channel.pk)
    assert Backfill.objects.filter(channel=channel).count() == 1
    assert Notification.objects.filter(channel=channel, kind="reconnected").count() == 1


class _SharedClock:
    """One test clock for both workers: waiting moves it on, so no second passes on the wall clock."""

    def __init__(self, start: float) -> None:
        self.now = start
        self._lock = threading.Lock()

    def time(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds


@pytest.mark.django_db(transaction=True)
def test_the_rate_limit_holds_across_two_workers(settings):
    settings.MAIL_PROVIDERS = {
        **settings.MAIL_PROVIDERS,
        "gmail": {**settings.MAIL_PROVIDERS["gmail"], "RATE_LIMIT": 4},
    }
    start = 1_800_000_000.0  # the start of a second
    clock = _SharedClock(start)

    def worker() -> None:
        try:
            for _ in range(6):
                wait_for_request_slot("gmail", clock=clock.time, sleep=clock.sleep)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # The window rows are the record of which second each request was given.
    per_second = dict(ProviderRequestWindow.objects.filter(provider="gmail").values_list("second", "count"))
    assert sum(per_second.values()) == 12
    assert max(per_second.values()) <= 4
    assert len(per_second) >= 3  # 12 requests at 4 a second cannot fit in fewer seconds
    assert min(per_second) == int(start) and clock.now >= start + 2  # the workers waited on the test's clock


def _redis_url() -> str | None:
    import redis

    url = "redis://127.0.0.1:6379/9"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError:
        return None
    return url


@pytest.mark.local_provider
@pytest.mark.django_db(transaction=True)
def test_two_worker_processes_on_the_redis_broker_sync_the_same_50_channels_once(
    tenancy, make_inbox, make_channel, local_provider
):
    redis_url = _redis_url()
    if redis_url is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI's machine has Redis on 127.0.0.1:6379, but it did not answer")
        pytest.skip("no Redis server on 127.0.0.1:6379")
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    run = uuid.uuid4().hex[:8]
    addresses = control.create_mailboxes(local_provider, [(f"w{run}-{i}@acme.test", "pw") for i in range(50)])
    tokens = control.issue_tokens(local_provider, addresses)
    for address in addresses:
        control.append_messages(local_provider, address, [control.make_message(recipient=address) for _ in range(3)])
        channel = make_channel(inbox=make_inbox(workspace=tenancy.workspace), address=address, provider="local")
        store_issued_tokens(channel, tokens[address])
    Channel.objects.exclude(address__in=addresses).delete()

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "TESTING": "1",
        "DEBUG": "0",
        "DATABASE_URL": shared_database_url(),
        "REDIS_URL": redis_url,
        "Q_CLUSTER_NAME": f"test-{run}",
        "Q_WORKERS": "2",
    }
    workers = [
        subprocess.Popen(
            [sys.executable, "manage.py", "qcluster"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        for _ in range(2)
    ]
    try:
        # Every channel queued twice: at-least-once delivery, as a broker may redeliver.
        enqueue = "from channels_app.tasks import sync_pass; sync_pass(); sync_pass()"
        subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", enqueue],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if MailFolder.objects.filter(channel__address__in=addresses, name="INBOX", last_uid=3).count() == 50:
                break
            time.sleep(0.5)
    finally:
        # The work is checked through the database; a graceful cluster shutdown would only add time.
        for worker in workers:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
        redis.Redis.from_url(redis_url).flushdb()
    assert MailFolder.objects.filter(channel__address__in=addresses, name="INBOX", last_uid=3).count() == 50
    assert Message.objects.filter(channel__address__in=addresses).count() == 150
    assert Message.objects.values("channel", "uid").distinct().count() == 150
