"""The IDLE listener's pieces without a mail server: reading what the server says during IDLE, the
backoff, the lease round, re-issuing before the server's limit, the relogin cadence, when a sync runs over
the connection and when it is left to a worker, and which channels the poll and probe passes still take."""

import socket
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.urls import reverse
from django.utils import timezone

from channels_app.models import Channel, ChannelStatus, MailFolder, Message, Notification, NotificationKind
from channels_app.selectors import mail_delivery
from channels_app.selectors.due import channels_to_probe, channels_to_sync
from channels_app.services.idle import (
    IdleConnection,
    IdleListener,
    Phase,
    SyncEnd,
    SyncReason,
    announces_new_mail,
    backoff_seconds,
    idle_silence_check,
    read_idle_lines,
    says_bye,
)
from channels_app.services.idle_lease import idle_claim, idle_confirmed, idle_started


class _SocketClient:
    """What read_idle_lines needs of an IMAPClient: its socket, and imaplib's buffered reader on it."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._imap = SimpleNamespace(file=sock.makefile("rb"))

    def socket(self) -> socket.socket:
        return self.sock


@pytest.fixture
def wire():
    ours, server = socket.socketpair()
    yield _SocketClient(ours), server
    ours.close()
    server.close()


def test_lines_are_read_whole_across_reads(wire):
    client, server = wire
    conn = IdleConnection(1)
    server.sendall(b"* OK Still here\r\n* 4 EXI")
    assert read_idle_lines(client, conn, signalled=True) == ([b"* OK Still here"], False)
    server.sendall(b"STS\r\n")
    lines, closed = read_idle_lines(client, conn, signalled=True)
    assert lines == [b"* 4 EXISTS"] and not closed
    assert announces_new_mail(lines)


def test_nothing_to_read_is_not_a_closed_connection_unless_the_socket_said_readable(wire):
    client, server = wire
    conn = IdleConnection(1)
    assert read_idle_lines(client, conn, signalled=False) == ([], False)
    server.close()
    assert read_idle_lines(client, conn, signalled=True) == ([], True)


def test_new_mail_is_exists_or_recent_and_bye_ends_the_connection():
    assert announces_new_mail([b"* 12 RECENT"])
    assert not announces_new_mail([b"* OK Still here", b"* 3 EXPUNGE", b"* 2 FETCH (FLAGS (\\Seen))"])
    assert says_bye([b"* BYE Disconnected for inactivity."])
    assert not says_bye([b"* OK Still here"])


def test_reconnecting_backs_off_exponentially_up_to_the_setting(settings):
    settings.IDLE_RECONNECT_MAX_SECONDS = 60
    assert [backoff_seconds(n) for n in (1, 2, 3, 4, 7, 20)] == [1, 2, 4, 8, 60, 60]


class _Clock:
    def __init__(self) -> None:
        self.now = timezone.now()
        self.mono = 1000.0

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)
        self.mono += seconds


@pytest.fixture
def listener(db):
    clock = _Clock()
    made = IdleListener(name="unit", clock=lambda: clock.now, monotonic=lambda: clock.mono, workers=1)
    made.clock_control = clock  # type: ignore[attr-defined]
    submitted: list[tuple[str, int]] = []
    made._submit = lambda work, conn, hand_back=True: submitted.append((work.__name__, conn.channel_id))  # type: ignore[method-assign]
    made.submitted = submitted  # type: ignore[attr-defined]
    yield made
    made._submit = lambda *a, **k: None  # type: ignore[method-assign]
    made.shutdown()


def test_the_lease_round_claims_at_most_a_batch_and_connects_them(
    tenancy, make_inbox, make_channel, listener, settings
):
    settings.IDLE_CLAIM_BATCH = 2
    for _ in range(3):
        make_channel(inbox=make_inbox(workspace=tenancy.workspace))
    listener.step(timeout=0)
    assert len(listener.connections) == 2
    assert [name for name, _ in listener.submitted] == ["_connect", "_connect"]
    assert all(c.phase is Phase.CONNECTING for c in listener.connections.values())


def test_the_lease_round_lets_go_of_a_channel_that_needs_reauthorization(tenancy, listener):
    listener.lease_round()
    assert set(listener.connections) == {tenancy.shared_channel.pk, tenancy.member_channel.pk}
    Channel.objects.filter(pk=tenancy.shared_channel.pk).update(status=ChannelStatus.NEEDS_REAUTH)
    listener.lease_round()
    assert set(listener.connections) == {tenancy.member_channel.pk}
    assert Channel.objects.get(pk=tenancy.shared_channel.pk).idle_owner == ""


def test_the_lease_round_drops_a_channel_another_listener_took_over(tenancy, listener):
    listener.lease_round()
    Channel.objects.filter(pk=tenancy.shared_channel.pk).update(idle_owner="someone-else")
    listener.lease_round()
    assert tenancy.shared_channel.pk not in listener.connections
    assert Channel.objects.get(pk=tenancy.shared_channel.pk).idle_owner == "someone-else"


def test_idle_is_reissued_before_the_servers_thirty_minutes(tenancy, listener, settings):
    assert settings.IDLE_REISSUE_SECONDS < 29 * 60
    settings.IDLE_RELOGIN_MINUTES = 60  # relogins are what usually renews IDLE: left out here
    conn = IdleConnection(tenancy.shared_channel.pk, phase=Phase.IDLING)
    conn.reissue_at = listener.clock_control.mono + settings.IDLE_REISSUE_SECONDS
    conn.relogin_at = listener.clock_control.mono + settings.IDLE_RELOGIN_MINUTES * 60
    listener.connections = {conn.channel_id: conn}
    listener._next_round = float("inf")
    listener.clock_control.advance(settings.IDLE_REISSUE_SECONDS - 1)
    listener.step(timeout=0)
    assert listener.submitted == []
    listener.clock_control.advance(1)
    listener.step(timeout=0)
    assert listener.submitted == [("_reissue", conn.channel_id)] and conn.phase is Phase.REISSUING


def _idling(listener: IdleListener, channel_id: int, client) -> IdleConnection:
    """A connection idling on `client` (a socket pair's end), due for nothing until far ahead."""
    conn = IdleConnection(channel_id)
    conn.client = client  # type: ignore[assignment]
    listener.connections = {channel_id: conn}
    listener._next_round = float("inf")
    listener._idling(conn)
    conn.relogin_at = conn.reissue_at = float("inf")
    return conn


def test_announcements_during_a_sync_over_the_connection_ask_one_more_sync_not_one_each(tenancy, listener, wire):
    client, _ = wire
    conn = _idling(listener, tenancy.shared_channel.pk, client)
    for _ in range(5):
        listener._new_mail(conn)
    assert listener.submitted == [("_sync_here", conn.channel_id)] and conn.phase is Phase.SYNCING
    assert conn.syncing_for == {SyncReason.ANNOUNCED}
    listener.want_sync(conn, SyncReason.REQUESTED)  # a push handed over meanwhile joins the next one
    listener._synced(conn, SyncEnd.IDLING)
    assert listener.submitted == [("_sync_here", conn.channel_id)] * 2
    assert conn.syncing_for == {SyncReason.ANNOUNCED, SyncReason.REQUESTED}
    listener._synced(conn, SyncEnd.IDLING)
    assert len(listener.submitted) == 2 and conn.phase is Phase.IDLING


def test_a_sync_handed_over_by_a_push_is_taken_at_the_next_tick(tenancy, listener, wire):
    from channels_app.services.idle_lease import idle_sync_request

    client, _ = wire
    channel = tenancy.shared_channel
    conn = _idling(listener, channel.pk, client)
    now = listener.clock_control.now
    Channel.objects.filter(pk=channel.pk).update(idle_owner="unit", idle_until=now + timedelta(minutes=1))
    idle_started(owner="unit", channel_id=channel.pk, now=now)
    listener.step(timeout=0)
    assert listener.submitted == []
    assert idle_sync_request(channel_id=channel.pk, now=now)
    listener.step(timeout=0)
    assert listener.submitted == [("_sync_here", channel.pk)] and conn.syncing_for == {SyncReason.REQUESTED}


def test_mail_that_reached_inbox_during_the_sync_is_synced_once_more(tenancy, listener, wire):
    client, _ = wire
    conn = _idling(listener, tenancy.shared_channel.pk, client)
    listener._new_mail(conn)
    listener._synced(conn, SyncEnd.IDLING, moved=True)
    assert listener.submitted == [("_sync_here", conn.channel_id)] * 2
    assert conn.syncing_for == {SyncReason.MOVED}


def test_a_sync_skipped_for_backoff_is_asked_again_when_the_backoff_ends(tenancy, listener, wire):
    client, _ = wire
    conn = _idling(listener, tenancy.shared_channel.pk, client)
    listener._new_mail(conn)
    listener._synced(conn, SyncEnd.UNTOUCHED, retry={SyncReason.ANNOUNCED, SyncReason.RETRY}, wait=30)
    assert conn.phase is Phase.IDLING and len(listener.submitted) == 1
    listener._new_mail(conn)  # a new announcement does not jump the backoff either
    listener.clock_control.advance(29)
    listener.step(timeout=0)
    assert len(listener.submitted) == 1
    listener.clock_control.advance(1)
    listener.step(timeout=0)
    assert listener.submitted[-1] == ("_sync_here", conn.channel_id) and len(listener.submitted) == 2


def test_a_lost_connection_during_a_sync_is_opened_again_with_backoff(tenancy, listener, wire):
    client, _ = wire
    conn = _idling(listener, tenancy.shared_channel.pk, client)
    conn.connected_at = listener.clock_control.mono
    listener._new_mail(conn)
    listener._synced(conn, SyncEnd.LOST, why="the connection dropped")
    assert conn.phase is Phase.WAITING and conn.retry_at == listener.clock_control.mono + 1
    assert conn.client is None


def test_the_listener_signs_in_afresh_every_relogin_period_without_counting_a_drop(tenancy, listener, wire, settings):
    client, _ = wire
    channel_id = tenancy.shared_channel.pk
    conn = _idling(listener, channel_id, client)
    conn.relogin_at = listener.clock_control.mono + settings.IDLE_RELOGIN_MINUTES * 60
    listener.clock_control.advance(settings.IDLE_RELOGIN_MINUTES * 60 - 1)
    listener.step(timeout=0)
    assert listener.submitted == [] and conn.phase is Phase.IDLING
    listener.clock_control.advance(1)
    listener.step(timeout=0)
    # Logged out and connecting at once: no backoff, no drop counted, and the next connection's sync is the
    # safety net (SyncReason.RELOGIN) rather than a catch-up after a drop.
    assert listener.submitted == [("_connect", channel_id)] and conn.client is None
    assert conn.phase is Phase.CONNECTING and conn.relogin and conn.drops == 0


def test_the_relogin_comes_before_the_servers_thirty_minutes(settings):
    assert settings.IDLE_RELOGIN_MINUTES <= 29


def test_a_dropped_connection_waits_longer_each_time_it_drops_quickly(tenancy, listener):
    conn = IdleConnection(tenancy.shared_channel.pk, phase=Phase.IDLING)
    listener.connections = {conn.channel_id: conn}
    waits = []
    for _ in range(3):
        conn.phase, conn.connected_at = Phase.IDLING, listener.clock_control.mono
        listener._dropped(conn, "test")
        waits.append(conn.retry_at - listener.clock_control.mono)
    assert waits == [1, 2, 4] and conn.phase is Phase.WAITING
    conn.phase, conn.connected_at = Phase.IDLING, listener.clock_control.mono - 3600
    listener._dropped(conn, "after an hour")
    assert conn.retry_at - listener.clock_control.mono == 1


def _healthy(channel: Channel, now):
    idle_claim(owner="listener-1", limit=10, now=now)
    idle_started(owner="listener-1", channel_id=channel.pk, now=now)


def test_channels_with_healthy_idle_are_not_polled_their_listener_syncs_them(tenancy, settings):
    shared = tenancy.shared_channel
    Channel.objects.filter(pk=tenancy.member_channel.pk).update(status=ChannelStatus.DISCONNECTED)
    now = timezone.now()
    Channel.objects.filter(pk=shared.pk).update(last_synced_at=now - timedelta(minutes=2))
    assert list(channels_to_sync(now)) == [shared]
    _healthy(shared, now)
    assert list(channels_to_sync(now)) == []
    # However long since its last sync: the listener's relogin sync is the safety net, at no extra login.
    Channel.objects.filter(pk=shared.pk).update(last_synced_at=now - timedelta(days=1))
    assert list(channels_to_sync(now)) == []
    # An IDLE reported silent is polled as usual.
    Channel.objects.filter(pk=shared.pk).update(idle_silent_reported_at=now)
    assert list(channels_to_sync(now)) == [shared]


def test_a_healthy_idle_is_probed_only_when_its_relogin_is_overdue(tenancy, settings):
    shared, personal = tenancy.shared_channel, tenancy.member_channel
    Channel.objects.filter(pk=personal.pk).update(status=ChannelStatus.DISCONNECTED)
    now = timezone.now()
    _healthy(shared, now)
    Channel.objects.filter(pk=shared.pk).update(
        last_login_at=now - timedelta(minutes=settings.IDLE_RELOGIN_MINUTES + 1)
    )
    assert settings.IDLE_RELOGIN_MINUTES + 1 > settings.PROBE_INTERVAL_MINUTES
    assert list(channels_to_probe(now)) == []
    Channel.objects.filter(pk=shared.pk).update(
        last_login_at=now - timedelta(minutes=settings.IDLE_RELOGIN_MINUTES + 3)
    )
    assert list(channels_to_probe(now)) == [shared]
    # Without a healthy IDLE the probe interval alone decides.
    Channel.objects.filter(pk=shared.pk).update(
        idle_owner="", last_login_at=now - timedelta(minutes=settings.PROBE_INTERVAL_MINUTES + 1)
    )
    assert list(channels_to_probe(now)) == [shared]


def test_idle_that_is_not_confirmed_or_whose_listener_died_is_polled_as_usual(tenancy, settings):
    shared = tenancy.shared_channel
    Channel.objects.filter(pk=tenancy.member_channel.pk).update(status=ChannelStatus.DISCONNECTED)
    now = timezone.now()
    Channel.objects.filter(pk=shared.pk).update(last_synced_at=now)
    _healthy(shared, now)
    assert list(channels_to_sync(now)) == []
    dead = now + timedelta(seconds=settings.IDLE_LEASE_SECONDS + 1)
    Channel.objects.filter(pk=shared.pk).update(last_synced_at=dead)
    assert list(channels_to_sync(dead)) == [shared]
    Channel.objects.filter(pk=shared.pk).update(idle_until=now + timedelta(hours=1))
    unconfirmed = now + timedelta(seconds=min(settings.IDLE_REISSUE_SECONDS, settings.IDLE_RELOGIN_MINUTES * 60) + 61)
    Channel.objects.filter(pk=shared.pk).update(last_synced_at=unconfirmed)
    assert list(channels_to_sync(unconfirmed)) == [shared]


def test_overview_says_how_the_channel_receives_mail(tenancy, settings):
    shared = tenancy.shared_channel
    url = reverse("channel_overview", args=[shared.pk])
    client = tenancy.client_for(tenancy.member)
    assert f"Polling every {settings.SYNC_INTERVAL_MINUTES} min" in client.get(url).content.decode()
    _healthy(shared, timezone.now())
    page = client.get(url).content.decode()
    assert "IDLE (since" in page and "listener-1" not in page  # which listener holds it is for staff
    assert f"signed in afresh and synced every {settings.IDLE_RELOGIN_MINUTES} min as a safety net" in page
    assert tenancy.client_for(tenancy.outsider).get(url).status_code == 404


def test_mail_delivery_reads_the_listener_and_since(tenancy):
    shared = tenancy.shared_channel
    now = timezone.now()
    _healthy(shared, now)
    shared.refresh_from_db()
    delivery = mail_delivery(shared, now)
    assert (delivery.by_idle, delivery.listener, delivery.since) == (True, "listener-1", now)


def test_while_the_database_fails_connections_are_kept_until_the_leases_are_about_to_run_out(
    tenancy, listener, settings
):
    from django.db import DatabaseError

    listener.step(timeout=0)
    assert len(listener.connections) == 2

    def failing() -> None:
        raise DatabaseError("the database went away")

    listener.lease_round = failing
    listener.clock_control.advance(settings.IDLE_LEASE_SECONDS / 3)
    listener.step(timeout=0)
    assert len(listener.connections) == 2
    # The next round is two thirds into the leases: let go before they expire and another listener claims them.
    listener.clock_control.advance(settings.IDLE_LEASE_SECONDS / 3)
    listener.step(timeout=0)
    assert listener.connections == {}
    # Not released: the database cannot be asked, and another listener may already hold them.
    assert Channel.objects.filter(idle_owner="unit").count() == 2


class _Untouchable:
    """A connection the sync must leave alone: any use of it fails the test."""

    def __getattr__(self, name: str):
        raise AssertionError(f"the connection was used ({name})")


def _syncing(listener: IdleListener, channel_id: int) -> tuple[IdleConnection, list[int]]:
    conn = IdleConnection(channel_id, phase=Phase.SYNCING, syncing_for={SyncReason.ANNOUNCED})
    conn.client = conn.stack = _Untouchable()  # type: ignore[assignment]
    queued: list[int] = []
    listener.enqueue = queued.append
    return conn, queued


def test_a_busy_sync_lease_leaves_the_announced_sync_to_a_worker(tenancy, listener):
    from channels_app.services.lease import channel_lease

    channel_id = tenancy.shared_channel.pk
    conn, queued = _syncing(listener, channel_id)
    with channel_lease(channel_id, seconds=60) as held:
        assert held is not None
        handed_back = listener._sync_here(conn)
    # The worker's sync waits for the running one and reads again (tasks.new_mail_channel): nothing is skipped.
    assert queued == [channel_id]
    listener.connections = {channel_id: conn}
    conn.client = None  # (nothing to watch in this test)
    listener._idling = lambda c: setattr(c, "phase", Phase.IDLING)  # type: ignore[method-assign]
    handed_back()
    assert conn.phase is Phase.IDLING and not conn.sync_reasons


def test_an_open_backfill_leaves_the_announced_sync_to_a_worker(tenancy, listener):
    from channels_app.models import Backfill

    channel_id = tenancy.shared_channel.pk
    Backfill.objects.create(channel_id=channel_id)
    conn, queued = _syncing(listener, channel_id)
    listener._sync_here(conn)
    assert queued == [channel_id]


def _found_in(channel: Channel, folder: str, *, arrived) -> None:
    box, _ = MailFolder.objects.get_or_create(channel=channel, name=folder)
    n = Message.objects.count()
    Message.objects.create(
        channel=channel, folder=box, uidvalidity=1, uid=n + 1, identity=f"m{n}", internal_date=arrived
    )


@pytest.fixture
def listened(tenancy, make_user):
    """The shared channel listened to for two hours, never announcing anything; a staff member to tell."""
    channel = tenancy.shared_channel
    make_user("staff@ours.test", is_staff=True)
    now = timezone.now()
    idle_claim(owner="a", limit=10, now=now)
    idle_started(owner="a", channel_id=channel.pk, now=now - timedelta(hours=2))
    return channel, now


def test_a_silent_idle_is_reported_to_staff_once(listened):
    channel, now = listened
    synced_at = now - timedelta(seconds=1)
    _found_in(channel, "INBOX", arrived=now - timedelta(minutes=40))
    assert idle_silence_check(owner="a", channel_id=channel.pk, imported_since=synced_at, now=now)
    _found_in(channel, "INBOX", arrived=now - timedelta(minutes=20))
    assert not idle_silence_check(owner="a", channel_id=channel.pk, imported_since=synced_at, now=now)
    told = Notification.objects.filter(channel=channel, kind=NotificationKind.PUSH_SILENT)
    assert [n.recipient.email for n in told] == ["staff@ours.test"]
    assert "No new-mail announcement over IDLE" in told[0].message
    # Announcing again ends the report (and the channel's polling at the usual pace).
    assert idle_confirmed(owner="a", channel_id=channel.pk, now=now, announced=True)
    assert Channel.objects.get(pk=channel.pk).idle_silent_reported_at is None
    assert not told.filter(resolved_at__isnull=True).exists()


@pytest.mark.parametrize(
    ("folder", "arrived_minutes_ago", "announced_minutes_ago"),
    [
        ("Newsletters", 40, None),  # filed elsewhere by a server rule: IDLE on INBOX never sees it
        ("INBOX", 1, None),  # still in flight: its announcement may be on the way
        ("INBOX", 40, 30),  # announced lately: not quiet for PUSH_SILENCE_MINUTES
        ("INBOX", 150, None),  # before we listened: nobody's to announce
    ],
)
def test_mail_that_says_nothing_about_idle_is_not_reported(
    listened, folder, arrived_minutes_ago, announced_minutes_ago
):
    channel, now = listened
    if announced_minutes_ago is not None:
        announced = now - timedelta(minutes=announced_minutes_ago)
        idle_confirmed(owner="a", channel_id=channel.pk, now=announced, announced=True)
    _found_in(channel, folder, arrived=now - timedelta(minutes=arrived_minutes_ago))
    assert not idle_silence_check(owner="a", channel_id=channel.pk, imported_since=now - timedelta(seconds=1), now=now)
    assert not Notification.objects.filter(kind=NotificationKind.PUSH_SILENT).exists()
