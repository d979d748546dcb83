"""The IDLE lease: one listener per channel, shared work, takeover after expiry (an injected clock)."""

from datetime import timedelta

from django.utils import timezone

from channels_app.models import Channel, ChannelStatus
from channels_app.services.idle_lease import (
    idle_claim,
    idle_confirmed,
    idle_release,
    idle_renew,
    idle_started,
    idle_stopped,
    idle_sync_request,
    idle_sync_requests_take,
    idle_unsupported,
)


def _channels(tenancy, make_inbox, make_channel, n):
    extra = [make_channel(inbox=make_inbox(workspace=tenancy.workspace)) for _ in range(n - 2)]
    return [tenancy.shared_channel, tenancy.member_channel, *extra]


def test_two_listeners_share_the_channels_and_never_hold_the_same_one(tenancy, make_inbox, make_channel):
    channels = _channels(tenancy, make_inbox, make_channel, 5)
    now = timezone.now()
    first = idle_claim(owner="a", limit=3, now=now)
    second = idle_claim(owner="b", limit=3, now=now)
    assert len(first) == 3 and len(second) == 2
    assert set(first).isdisjoint(second)
    assert set(first) | set(second) == {c.pk for c in channels}
    assert idle_claim(owner="c", limit=3, now=now) == []


def test_a_listener_that_stops_renewing_loses_its_channels_after_the_lease(tenancy, settings):
    channel = tenancy.shared_channel
    now = timezone.now()
    assert channel.pk in idle_claim(owner="dead", limit=10, now=now)
    assert idle_claim(owner="other", limit=10, now=now + timedelta(seconds=settings.IDLE_LEASE_SECONDS - 1)) == []
    later = now + timedelta(seconds=settings.IDLE_LEASE_SECONDS + 1)
    taken = idle_claim(owner="other", limit=10, now=later)
    assert channel.pk in taken
    # The old owner learns it at its next renewal, and may not write about the channel any more.
    assert idle_renew(owner="dead", channel_ids=taken, now=later) == set()
    assert not idle_started(owner="dead", channel_id=channel.pk, now=later)
    assert Channel.objects.get(pk=channel.pk).idle_owner == "other"


def test_renewing_keeps_the_channels_past_the_first_lease(tenancy, settings):
    now = timezone.now()
    held = idle_claim(owner="a", limit=10, now=now)
    halfway = now + timedelta(seconds=settings.IDLE_LEASE_SECONDS * 2 / 3)
    assert idle_renew(owner="a", channel_ids=held, now=halfway) == set(held)
    past_first = now + timedelta(seconds=settings.IDLE_LEASE_SECONDS + 1)
    assert idle_claim(owner="b", limit=10, now=past_first) == []


def test_releasing_frees_the_channels_at_once(tenancy):
    now = timezone.now()
    held = idle_claim(owner="a", limit=10, now=now)
    idle_started(owner="a", channel_id=held[0], now=now)
    assert idle_release(owner="a", channel_ids=held) == len(held)
    channel = Channel.objects.get(pk=held[0])
    assert (channel.idle_owner, channel.idle_until, channel.idle_since) == ("", None, None)
    assert sorted(idle_claim(owner="b", limit=10, now=now)) == sorted(held)


def test_only_channels_that_sync_are_claimed(tenancy):
    Channel.objects.filter(pk=tenancy.member_channel.pk).update(status=ChannelStatus.NEEDS_REAUTH)
    Channel.objects.filter(pk=tenancy.shared_channel.pk).update(status=ChannelStatus.UNREACHABLE)
    assert idle_claim(owner="a", limit=10, now=timezone.now()) == [tenancy.shared_channel.pk]


def test_a_server_without_idle_is_left_to_polling_for_a_day(tenancy):
    channel = tenancy.shared_channel
    Channel.objects.filter(pk=tenancy.member_channel.pk).update(status=ChannelStatus.DISCONNECTED)
    now = timezone.now()
    assert idle_claim(owner="a", limit=10, now=now) == [channel.pk]
    idle_unsupported(owner="a", channel_id=channel.pk, now=now)
    assert Channel.objects.get(pk=channel.pk).idle_owner == ""
    assert idle_claim(owner="b", limit=10, now=now + timedelta(hours=23)) == []
    assert idle_claim(owner="b", limit=10, now=now + timedelta(hours=25)) == [channel.pk]


def test_started_confirmed_and_stopped_mark_the_connection(tenancy):
    channel = tenancy.shared_channel
    now = timezone.now()
    idle_claim(owner="a", limit=10, now=now)
    assert idle_started(owner="a", channel_id=channel.pk, now=now)
    later = now + timedelta(minutes=25)
    assert idle_confirmed(owner="a", channel_id=channel.pk, now=later)
    channel.refresh_from_db()
    assert (channel.idle_since, channel.idle_confirmed_at) == (now, later)
    assert idle_stopped(owner="a", channel_id=channel.pk)
    channel.refresh_from_db()
    assert (channel.idle_owner, channel.idle_since, channel.idle_confirmed_at) == ("a", None, None)
    assert not idle_confirmed(owner="b", channel_id=channel.pk, now=later)


class _StaleRead:
    """Candidates as a listener read them before another listener's claim landed."""

    def __init__(self, ids):
        self.ids = ids

    def filter(self, *args, **kwargs):
        return self

    def order_by(self, *args):
        return self

    def values_list(self, *args, **kwargs):
        return self.ids


def test_a_claim_read_before_another_listeners_claim_still_takes_nothing_of_it(tenancy, monkeypatch):
    now = timezone.now()
    ids = sorted([tenancy.shared_channel.pk, tenancy.member_channel.pk])
    first = idle_claim(owner="a", limit=1, now=now)
    monkeypatch.setattr("channels_app.services.idle_lease.idle_candidates", lambda now: _StaleRead(ids))
    second = idle_claim(owner="b", limit=2, now=now)
    assert second == [pk for pk in ids if pk not in first]
    assert Channel.objects.get(pk=first[0]).idle_owner == "a"


def test_a_planned_relogin_keeps_listening_since_and_a_drop_starts_it_again(tenancy):
    channel = tenancy.shared_channel
    start = timezone.now()
    idle_claim(owner="a", limit=10, now=start)
    idle_started(owner="a", channel_id=channel.pk, now=start)
    later = start + timedelta(minutes=25)
    idle_started(owner="a", channel_id=channel.pk, now=later)  # the relogin's new connection
    assert Channel.objects.get(pk=channel.pk).idle_since == start
    idle_stopped(owner="a", channel_id=channel.pk)
    idle_started(owner="a", channel_id=channel.pk, now=later)
    assert Channel.objects.get(pk=channel.pk).idle_since == later


def test_a_sync_is_handed_to_a_listener_only_while_it_holds_a_healthy_idle(tenancy, settings):
    channel = tenancy.shared_channel
    now = timezone.now()
    assert not idle_sync_request(channel_id=channel.pk, now=now)  # nobody holds it: the caller queues a worker
    idle_claim(owner="a", limit=10, now=now)
    assert not idle_sync_request(channel_id=channel.pk, now=now)  # held, not idling yet
    idle_started(owner="a", channel_id=channel.pk, now=now)
    assert idle_sync_request(channel_id=channel.pk, now=now)
    assert idle_sync_request(channel_id=channel.pk, now=now)
    assert idle_sync_requests_take(owner="b") == []
    assert idle_sync_requests_take(owner="a") == [channel.pk]
    assert idle_sync_requests_take(owner="a") == []  # taken once
    assert Channel.objects.get(pk=channel.pk).idle_sync_requests == 0
    dead = now + timedelta(seconds=settings.IDLE_LEASE_SECONDS + 1)
    assert not idle_sync_request(channel_id=channel.pk, now=dead)  # its listener stopped renewing
