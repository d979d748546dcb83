"""Backfill against the real local provider: the whole gap, once each, resumable, and a receipt."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from channels_app.models import Backfill, BackfillStatus, Channel, ChannelStatus, Message
from channels_app.selectors.backfill import receipt_text
from channels_app.services import sync as sync_module
from channels_app.services.backfill import backfill_start
from channels_app.tasks import backfill_channel, sync_channel
from localprovider import control
from tests.malformed_corpus import BASE, corpus
from tests.provider_fixtures import oauth_round_trip

pytestmark = pytest.mark.local_provider


def _append(instance, mailbox, count: int, prefix: str = "Gap") -> list[bytes]:
    start = timezone.now() - timedelta(hours=1)
    messages = [
        control.make_message(recipient=mailbox.address, subject=f"{prefix} {i}", date=start + timedelta(seconds=i))
        for i in range(count)
    ]
    control.append_messages(instance, mailbox.address, messages)
    return messages


def _subjects(channel: Channel) -> list[str]:
    return sorted(Message.objects.filter(channel=channel).values_list("subject", flat=True))


@pytest.fixture
def synced(tenancy, make_mailbox, connect_local, local_provider):
    """The shared channel with 3 messages already imported."""
    mailbox = make_mailbox("support")
    channel = connect_local(tenancy.shared_channel, mailbox)
    _append(local_provider, mailbox, 3, "Before")
    sync_channel(channel.pk)
    return Channel.objects.get(pk=channel.pk), mailbox


def test_revoke_fifty_messages_reauthorize_imports_exactly_those_fifty(
    tenancy, synced, local_provider, django_capture_on_commit_callbacks
):
    channel, mailbox = synced
    control.revoke_tokens(local_provider, mailbox.address)
    with django_capture_on_commit_callbacks(execute=True):
        sync_channel(channel.pk)
    assert Channel.objects.get(pk=channel.pk).status == ChannelStatus.NEEDS_REAUTH
    _append(local_provider, mailbox, 50)
    with django_capture_on_commit_callbacks(execute=True):
        oauth_round_trip(tenancy.client_for(tenancy.admin), reverse("channel_reauthorize", args=[channel.pk]), mailbox)
    gap = [s for s in _subjects(channel) if s.startswith("Gap")]
    assert sorted(gap) == sorted(f"Gap {i}" for i in range(50))
    assert Message.objects.filter(channel=channel).count() == 53
    backfill = Backfill.objects.get(channel=channel)
    assert (backfill.status, backfill.imported, backfill.total) == (BackfillStatus.DONE, 50, 50)
    assert backfill.reconnected_by == tenancy.admin
    assert "imported 50 messages that arrived" in receipt_text(backfill)
    overview = tenancy.client_for(tenancy.admin).get(reverse("channel_overview", args=[channel.pk]))
    assert "imported 50 messages" in overview.content.decode()


def test_a_backfill_killed_mid_batch_resumes_without_duplicates_or_gaps(synced, local_provider, settings, monkeypatch):
    channel, mailbox = synced
    _append(local_provider, mailbox, 95)
    settings.SYNC_BATCH_SIZE = 10
    backfill_start(channel_id=channel.pk, actor_id=None)
    real_store = sync_module._store_batch
    calls = {"n": 0}

    def dies_on_the_fourth_batch(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 4:
            raise SystemExit("worker killed")  # mid-batch: fetched, not yet committed
        return real_store(*args, **kwargs)

    monkeypatch.setattr(sync_module, "_store_batch", dies_on_the_fourth_batch)
    with pytest.raises(SystemExit):
        backfill_channel(channel.pk)
    assert Message.objects.filter(channel=channel).count() == 3 + 30  # three whole batches, nothing of the fourth
    assert Backfill.objects.get(channel=channel).status == BackfillStatus.RUNNING
    monkeypatch.setattr(sync_module, "_store_batch", real_store)
    backfill_channel(channel.pk)
    assert Message.objects.filter(channel=channel).count() == 98
    assert Message.objects.filter(channel=channel).values("uid").distinct().count() == 98
    backfill = Backfill.objects.get(channel=channel)
    assert (backfill.status, backfill.imported) == (BackfillStatus.DONE, 95)


def test_a_killed_backfill_task_that_no_broker_redelivers_is_finished_by_the_next_scheduled_sync(
    synced, local_provider, settings, monkeypatch
):
    channel, mailbox = synced
    _append(local_provider, mailbox, 25)
    settings.SYNC_BATCH_SIZE = 10
    backfill_start(channel_id=channel.pk, actor_id=None, notify_user_ids=[])
    real_store = sync_module._store_batch
    calls = {"n": 0}

    def dies_on_the_second_batch(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise SystemExit("worker killed")
        return real_store(*args, **kwargs)

    monkeypatch.setattr(sync_module, "_store_batch", dies_on_the_second_batch)
    with pytest.raises(SystemExit):
        backfill_channel(channel.pk)
    monkeypatch.setattr(sync_module, "_store_batch", real_store)
    # Redis does not hand the killed task to another worker; the schedule's sync carries the backfill on.
    assert "Reconnected automatically" in sync_channel(channel.pk)
    backfill = Backfill.objects.get(channel=channel)
    assert (backfill.status, backfill.imported) == (BackfillStatus.DONE, 25)
    assert Message.objects.filter(channel=channel).count() == 28


def test_an_expired_lease_of_a_dead_worker_does_not_block_the_next_one(synced, local_provider):
    channel, mailbox = synced
    Channel.objects.filter(pk=channel.pk).update(lease_owner="dead", lease_until=timezone.now() - timedelta(seconds=1))
    _append(local_provider, mailbox, 2)
    assert "imported 2" in sync_channel(channel.pk)


@pytest.mark.django_db(transaction=True)
def test_sync_and_backfill_at_the_same_time_import_each_message_once(synced, local_provider, settings):
    channel, mailbox = synced
    _append(local_provider, mailbox, 200)
    settings.SYNC_BATCH_SIZE = 20
    backfill_start(channel_id=channel.pk, actor_id=None)
    errors: list[BaseException] = []

    def run(task):  # each thread has its own database connection, like a worker
        try:
            task(channel.pk)
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(task,)) for task in (sync_channel, backfill_channel, sync_channel)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    sync_channel(channel.pk)
    assert Message.objects.filter(channel=channel).count() == 203
    assert Message.objects.filter(channel=channel).values("uid").distinct().count() == 203


def test_a_renumbered_mailbox_imports_nothing_twice_and_misses_nothing(synced, local_provider):
    channel, mailbox = synced
    before = channel.folders.get(name="INBOX").uidvalidity
    control.renumber_mailbox(local_provider, mailbox.address)
    _append(local_provider, mailbox, 4, "After renumbering")
    result = sync_channel(channel.pk)
    channel = Channel.objects.get(pk=channel.pk)
    assert channel.folders.get(name="INBOX").uidvalidity != before
    assert "imported 4" in result
    assert _subjects(channel) == sorted(
        [f"Before {i}" for i in range(3)] + [f"After renumbering {i}" for i in range(4)]
    )
    _append(local_provider, mailbox, 1, "Later")
    assert "imported 1" in sync_channel(channel.pk)


def test_every_malformed_message_is_imported_and_flagged(synced, local_provider, settings):
    channel, mailbox = synced
    messages = corpus()
    assert len(messages) >= 15
    control.append_messages(local_provider, mailbox.address, messages.values())
    settings.SYNC_BATCH_BYTES = 4 * 1024 * 1024
    assert f"imported {len(messages)}" in sync_channel(channel.pk)
    rows = Message.objects.filter(channel=channel).exclude(subject__startswith="Before")
    assert rows.count() == len(messages)
    by_subject = {row.subject: row for row in rows}
    assert "missing Date" in by_subject["no date"].parse_problems
    assert "missing Message-ID" in by_subject["no id"].parse_problems
    assert by_subject["Grüße aus Köln"].parse_problems == "8-bit Subject"
    assert by_subject["huge"].size > 20 * 1024 * 1024
    assert bytes(by_subject["huge"].raw).endswith(b"--b--\r\n")
    assert rows.filter(message_id="twin@x").count() == 2
    assert "several Message-ID headers" in by_subject["two ids"].parse_problems
    cr_only = by_subject["bare cr"]
    assert (cr_only.from_address, cr_only.message_id, cr_only.date is not None) == ("a@example.test", "cr@x", True)
    assert by_subject["mixed endings"].message_id == "mixed@x"
    assert by_subject["first of two"].parse_problems == "several Subject headers"
    assert by_subject["bom"].from_address == "a@example.test"
    assert "bell\x07 escape\x1b[31m red\tand  spaced\x7f" in by_subject
    assert by_subject["nul\ufffdinside"].parse_problems == "NUL in Subject, replaced"
    raw_nul = rows.get(message_id="rawnul@x")  # Dovecot sends a NUL as 0x80; passed on, it becomes U+FFFD
    assert raw_nul.subject in ("raw\ufffdnul", "raw\x80nul")
    assert by_subject["angle inside"].message_id == "a<b@x"
    assert by_subject["bare id"].parse_problems == "Message-ID without angle brackets"
    assert by_subject["w" * 5000].parse_problems == ""
    assert by_subject["x" * 100_000].parse_problems == "Subject longer than 100000 characters, cut"


@pytest.mark.parametrize("zone", ["Pacific/Kiritimati", "Etc/GMT+12"])
def test_a_date_past_what_datetime_holds_neither_wedges_the_channel_nor_breaks_a_page(
    tenancy, synced, local_provider, settings, zone
):
    channel, mailbox = synced
    settings.SYNC_BATCH_SIZE = 2
    before = _append(local_provider, mailbox, 1, "Before the edge")
    edge = BASE + b"Subject: the edge\r\nMessage-ID: <edge@x>\r\nDate: Fri, 31 Dec 9999 23:59:59 -1200\r\n\r\nb\r\n"
    east = BASE + b"Subject: east\r\nMessage-ID: <east@x>\r\nDate: Fri, 31 Dec 9999 23:59:59 +1400\r\n\r\nb\r\n"
    control.append_messages(local_provider, mailbox.address, [edge, east])
    _append(local_provider, mailbox, 3, "After the edge")
    backfill_start(channel_id=channel.pk, actor_id=None)
    assert "imported 6" in backfill_channel(channel.pk)
    assert len(before) == 1 and len(_subjects(channel)) == 3 + 6
    for subject in ("the edge", "east"):
        row = Message.objects.get(channel=channel, subject=subject)
        assert (row.date, row.parse_problems) == (None, "Date out of range")
    _append(local_provider, mailbox, 1, "Later")
    assert "imported 1" in sync_channel(channel.pk)
    settings.TIME_ZONE = zone
    client = tenancy.client_for(tenancy.admin)
    assert "the edge" in client.get(reverse("channel_messages", args=[channel.pk])).content.decode()
    assert "imported 6 messages" in client.get(reverse("channel_overview", args=[channel.pk])).content.decode()


def test_messages_tab_lists_newest_first_for_those_who_may_see(tenancy, synced):
    channel, _ = synced
    url = reverse("channel_messages", args=[channel.pk])
    page = tenancy.client_for(tenancy.member).get(url)
    assert page.status_code == 200
    body = page.content.decode()
    assert body.index("Before 2") < body.index("Before 1") < body.index("Before 0")
    assert tenancy.client_for(tenancy.admin).get(url).status_code == 200
    assert tenancy.client_for(tenancy.outsider).get(url).status_code == 404


def test_the_people_alerted_get_the_receipt_in_the_reconnected_notice(
    tenancy, synced, local_provider, django_capture_on_commit_callbacks
):
    from django.core import mail

    from channels_app.models import Notification, NotificationKind

    channel, mailbox = synced
    control.revoke_tokens(local_provider, mailbox.address)
    with django_capture_on_commit_callbacks(execute=True):
        sync_channel(channel.pk)
    _append(local_provider, mailbox, 7)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        oauth_round_trip(tenancy.client_for(tenancy.admin), reverse("channel_reauthorize", args=[channel.pk]), mailbox)
    notice = Notification.objects.get(kind=NotificationKind.RECONNECTED)
    assert notice.recipient == tenancy.admin
    assert notice.message.startswith("Reconnected by admin@acme.test at ")
    assert "imported 7 messages that arrived" in notice.message
    assert [m.to for m in mail.outbox] == [[tenancy.admin.email]]
    assert notice.message in mail.outbox[0].body


def test_progress_shows_imported_of_total_and_time_left_while_running(tenancy, synced, monkeypatch):
    channel, _ = synced
    stored = timezone.now()
    # The pages read the clock: frozen 2 s after the last stored batch, however slowly this test runs.
    monkeypatch.setattr(timezone, "now", lambda: stored + timedelta(seconds=2))
    # 100 messages in the 10 s up to the last stored batch: 300 more take 30 s (and a second's margin).
    Backfill.objects.create(
        channel=channel,
        status=BackfillStatus.RUNNING,
        total=400,
        imported=100,
        started_at=stored - timedelta(seconds=10),
        progressed_at=stored,
    )
    client = tenancy.client_for(tenancy.member)
    page = client.get(reverse("channel_overview", args=[channel.pk])).content.decode()
    assert 'data-testid="backfill-progress"' in page and "100 of 400" in page and 'max="100" value="25"' in page
    assert "about 31 s left" in page
    fragment = client.get(reverse("channel_backfill_progress", args=[channel.pk])).content.decode()
    assert "100 of 400" in fragment
    assert (
        tenancy.client_for(tenancy.outsider).get(reverse("channel_backfill_progress", args=[channel.pk])).status_code
        == 404
    )
    Backfill.objects.filter(channel=channel).update(status=BackfillStatus.DONE, finished_at=timezone.now())
    assert client.get(reverse("channel_backfill_progress", args=[channel.pk])).content.decode().strip() == ""


def test_messages_tab_is_paginated(tenancy, synced, settings):
    channel, _ = synced
    settings.MESSAGES_PAGE_SIZE = 2
    client = tenancy.client_for(tenancy.member)
    first = client.get(reverse("channel_messages", args=[channel.pk])).content.decode()
    second = client.get(reverse("channel_messages", args=[channel.pk]), {"page": 2}).content.decode()
    assert "Before 2" in first and "Before 1" in first and "Before 0" not in first
    assert "Before 0" in second and "Page 2 of 2" in second
