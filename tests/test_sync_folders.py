"""Every message exactly once, through the real sync against Local mail: folders, moves, renumbering,
hostile Date headers, bounded first imports, the daily download budget and receipts."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from channels_app.models import Backfill, Channel, ChannelStatus, Message, Notification
from channels_app.selectors.backfill import latest_receipt
from channels_app.services.reauthorize import channel_reauthorize
from channels_app.tasks import sync_channel
from localprovider import control
from tests.provider_fixtures import tokens_for

pytestmark = pytest.mark.local_provider


def _deliver(instance, mailbox, subjects, folder="INBOX", *, days_ago=0.0, **fields):
    arrived = timezone.now() - timedelta(days=days_ago)
    messages = [control.make_message(recipient=mailbox.address, subject=s, **fields) for s in subjects]
    control.append_messages(instance, mailbox.address, messages, folder, arrived)


def _sync(channel: Channel) -> str:
    Channel.objects.filter(pk=channel.pk).update(next_attempt_at=None)
    return sync_channel(channel.pk)


def _where(channel: Channel) -> dict[str, str]:
    return dict(channel.messages.values_list("subject", "folder__name"))


def _add_imap_channel(tenancy, instance, mailbox, **choices):
    """The member adds the mailbox as their own IMAP channel, through the Add channel form."""
    fields = {"host": "127.0.0.1", "port": instance.imap_port, "username": mailbox.address}
    # The local provider speaks plain IMAP on loopback.
    fields.update(security="none", confirm_unencrypted="on")
    data = {"address": mailbox.address, "password": mailbox.password, **fields, **choices}
    return tenancy.client_for(tenancy.member).post(reverse("personal:add_imap_channel"), data)


@pytest.fixture
def connected(tenancy, make_mailbox, connect_local):
    mailbox = make_mailbox()
    return connect_local(tenancy.shared_channel, mailbox), mailbox


def test_mail_moved_to_other_folders_during_an_outage_is_imported_once(
    connected, local_provider, tenancy, django_capture_on_commit_callbacks
):
    channel, mailbox = connected
    _deliver(local_provider, mailbox, ["Before"])
    assert "imported 1" in _sync(channel)
    control.revoke_tokens(local_provider, mailbox.address)
    _deliver(local_provider, mailbox, ["Missed: stays", "Missed: archived by a rule", "Missed: filed"])
    assert "auth_failure" in _sync(channel)
    # While we are locked out, a rule archives one, a person files another, and an old one is archived.
    control.move_messages(local_provider, mailbox.address, "INBOX", "Archive", matching=b"archived by a rule")
    control.move_messages(local_provider, mailbox.address, "INBOX", "Customers/Acme", matching=b"Missed: filed")
    control.move_messages(local_provider, mailbox.address, "INBOX", "Archive", matching=b"Subject: Before")
    with django_capture_on_commit_callbacks(execute=True):
        channel_reauthorize(channel=channel, credentials=tokens_for(local_provider, mailbox), actor=tenancy.admin)
    assert _where(channel) == {
        "Before": "Archive",  # one message, now where it is
        "Missed: stays": "INBOX",
        "Missed: archived by a rule": "Archive",
        "Missed: filed": "Customers/Acme",
    }
    assert "imported 3 messages" in latest_receipt(channel)
    page = tenancy.client_for(tenancy.admin).get(reverse("channel_messages", args=[channel.pk])).content.decode()
    assert "Customers/Acme" in page and "Archive" in page


def test_junk_and_trash_are_not_imported_every_other_folder_is(connected, local_provider):
    channel, mailbox = connected
    _deliver(local_provider, mailbox, ["Hello"])
    _deliver(local_provider, mailbox, ["Cheap pills"], folder="Junk")
    _deliver(local_provider, mailbox, ["Deleted"], folder="Trash")
    _deliver(local_provider, mailbox, ["My reply"], folder="Sent")
    _sync(channel)
    assert _where(channel) == {"Hello": "INBOX", "My reply": "Sent"}
    assert set(channel.folders.values_list("name", flat=True)) == {"INBOX", "Sent"}


def test_gmail_is_read_through_all_mail_so_a_message_with_labels_is_one_message(
    tenancy, make_mailbox, connect_local, local_provider
):
    mailbox = make_mailbox("gm", persona="google")
    channel = connect_local(tenancy.shared_channel, mailbox, "gmail")
    _deliver(local_provider, mailbox, ["Labelled three times", "Plain"])
    # Gmail shows a labelled message in each label's folder; All Mail holds it once.
    for label in ("Customers", "Urgent"):
        control.append_messages(
            local_provider,
            mailbox.address,
            [control.make_message(recipient=mailbox.address, subject="Copy under a label")],
            label,
        )
    _sync(channel)
    assert list(channel.folders.values_list("name", flat=True)) == ["[Gmail]/All Mail"]
    assert channel.messages.count() == 4  # two delivered, two label copies delivered to All Mail as well
    assert channel.messages.filter(subject="Labelled three times").count() == 1


def test_a_renumbered_folder_loses_nothing_doubles_nothing_and_downloads_nothing_stored(
    connected, local_provider, monkeypatch
):
    channel, mailbox = connected
    # Dates that used to wedge or mislead reconciliation: the future, the epoch, a restore's old mail.
    _deliver(local_provider, mailbox, ["From the future"], date=timezone.now().replace(year=2038))
    _deliver(local_provider, mailbox, ["From 1970"], date=timezone.now().replace(year=1970))
    _deliver(local_provider, mailbox, ["Last week"], days_ago=7)
    # Two different messages sharing one Message-ID (senders reuse them).
    _deliver(local_provider, mailbox, ["Same id, first"], message_id="<shared@example.test>")
    _deliver(local_provider, mailbox, ["Same id, second text"], message_id="<shared@example.test>")
    assert "imported 5" in _sync(channel)
    control.renumber_mailbox(local_provider, mailbox.address)
    _deliver(local_provider, mailbox, ["Arrived after the renumbering"])
    downloads: list[int] = []
    from channels_app.services import sync

    real = sync.message_row
    monkeypatch.setattr(sync, "message_row", lambda uid, raw, **kw: downloads.append(uid) or real(uid, raw, **kw))
    result = _sync(channel)
    assert "imported 1" in result and "found 5 stored" in result
    assert len(downloads) == 1, "only the new message was downloaded"
    assert sorted(channel.messages.values_list("subject", flat=True)) == sorted(
        [
            "From the future",
            "From 1970",
            "Last week",
            "Same id, first",
            "Same id, second text",
            "Arrived after the renumbering",
        ]
    )
    inbox = channel.folders.get(name="INBOX")
    assert set(channel.messages.values_list("uidvalidity", flat=True)) == {inbox.uidvalidity}


def test_a_new_channel_imports_the_last_days_it_was_asked_for(tenancy, make_mailbox, local_provider):
    mailbox = make_mailbox()
    _deliver(local_provider, mailbox, ["Two months old"], days_ago=60)
    _deliver(local_provider, mailbox, ["Ten days old"], days_ago=10)
    _deliver(local_provider, mailbox, ["Today"])
    response = _add_imap_channel(tenancy, local_provider, mailbox, import_days=30)
    assert response.status_code == 302
    channel = Channel.objects.get(address=mailbox.address)
    _sync(channel)
    assert sorted(channel.messages.values_list("subject", flat=True)) == ["Ten days old", "Today"]
    _deliver(local_provider, mailbox, ["Tomorrow's news"])
    _sync(channel)
    assert channel.messages.count() == 3


def test_the_daily_download_budget_pauses_the_import_without_alerts_and_it_resumes(
    connected, local_provider, settings, tenancy
):
    channel, mailbox = connected
    settings.MAIL_PROVIDERS = {
        **settings.MAIL_PROVIDERS,
        "local": {**settings.MAIL_PROVIDERS["local"], "DAILY_DOWNLOAD_BYTES": 10_000},
    }
    settings.SYNC_BATCH_SIZE = 2
    _deliver(local_provider, mailbox, [f"Message {i}" for i in range(8)])  # about 3 KB each
    Backfill.objects.create(channel=channel, incident_started_at=timezone.now() - timedelta(hours=1))
    result = _sync(channel)
    assert "paused: the daily download limit is used up" in result
    assert 0 < channel.messages.count() < 8
    backfill = Backfill.objects.get(channel=channel)
    assert backfill.paused_until is not None and backfill.paused_until > timezone.now()
    page = tenancy.client_for(tenancy.admin).get(reverse("channel_overview", args=[channel.pk])).content.decode()
    assert "daily download limit is used up; it continues by itself" in page
    assert Channel.objects.get(pk=channel.pk).status == ChannelStatus.ACTIVE
    assert not Notification.objects.exists()
    # The next day (UTC) the budget is fresh and the import continues at the cursor.
    Channel.objects.filter(pk=channel.pk).update(download_day=timezone.now().date() - timedelta(days=1))
    while "paused" in _sync(channel):
        Channel.objects.filter(pk=channel.pk).update(download_day=timezone.now().date() - timedelta(days=1))
    assert channel.messages.count() == 8
    assert "imported 8 messages" in latest_receipt(channel)


def test_a_crashed_workers_lease_is_taken_over_within_a_minute(connected, local_provider, settings):
    channel, mailbox = connected
    _deliver(local_provider, mailbox, ["After the crash"])
    # A worker died holding the lease: it was claimed for CHANNEL_LEASE_SECONDS and never renewed.
    assert settings.CHANNEL_LEASE_SECONDS <= 60
    expired = timezone.now() - timedelta(seconds=1)
    Channel.objects.filter(pk=channel.pk).update(lease_owner="dead-worker", lease_until=expired)
    assert "imported 1" in _sync(channel)


def test_a_long_import_renews_its_lease_between_batches(connected, local_provider, settings, monkeypatch):
    channel, mailbox = connected
    settings.SYNC_BATCH_SIZE = 1
    _deliver(local_provider, mailbox, [f"Batch {i}" for i in range(4)])
    from channels_app.services import sync

    real, found, left = sync._store_batch, [], []

    def store(channel_arg, folder, rows, **kwargs):
        if rows:
            # As if the lease were nearly spent by now: only a renewal after this batch moves it on.
            found.append(Channel.objects.get(pk=channel.pk).lease_until)
            left.append(timezone.now() + timedelta(seconds=1))
            Channel.objects.filter(pk=channel.pk).update(lease_until=left[-1])
        return real(channel_arg, folder, rows, **kwargs)

    monkeypatch.setattr(sync, "_store_batch", store)
    assert "imported 4" in _sync(channel)
    assert len(found) == 4
    # Each batch found the lease renewed, for CHANNEL_LEASE_SECONDS, after the one before it.
    lease = timedelta(seconds=settings.CHANNEL_LEASE_SECONDS)
    for renewed, nearly_spent in zip(found[1:], left, strict=False):
        assert renewed >= nearly_spent + lease - timedelta(seconds=1)


def test_a_sync_that_recovers_a_channel_by_itself_counts_the_missed_mail_in_the_receipt(
    tenancy, make_mailbox, local_provider, django_capture_on_commit_callbacks
):
    mailbox = make_mailbox("pw")
    _add_imap_channel(tenancy, local_provider, mailbox)
    channel = Channel.objects.get(address=mailbox.address)
    _sync(channel)
    control.set_password(local_provider, mailbox.address, "changed-for-a-while")
    assert "auth_failure" in _sync(channel)
    _deliver(local_provider, mailbox, ["Missed 1", "Missed 2", "Missed 3"])
    control.set_password(local_provider, mailbox.address, mailbox.password)
    with django_capture_on_commit_callbacks(execute=True):
        assert "imported 3" in _sync(channel)  # the scheduled sync imports them, then starts the backfill
    assert Message.objects.filter(channel=channel).count() == 3
    receipt = latest_receipt(channel)
    assert "Reconnected automatically" in receipt and "imported 3 messages" in receipt
