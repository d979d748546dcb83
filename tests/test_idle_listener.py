"""The IDLE listener end to end against Local mail (Dovecot behind the IMAP front): new mail stored in
seconds over the held connection with no new login (logins counted in Dovecot's log), a relogin on its
cadence, a changed password told to the right people, a dead listener's channels taken over, and an
announced sync racing a scheduled poll without losing or doubling a message. Tasks run inline here
(Q_CLUSTER sync=True), on the listener's worker threads."""

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from channels_app.models import Channel, ChannelStatus, Message, Notification, NotificationKind
from channels_app.services import operations
from channels_app.services.idle import IdleListener, Phase
from channels_app.services.idle_lease import idle_sync_request
from channels_app.tasks import new_mail_channel, sync_channel
from localprovider import control

pytestmark = [pytest.mark.local_provider, pytest.mark.django_db(transaction=True)]


def step_until(listeners: list[IdleListener], done: Callable[[], bool], seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while not done():
        assert time.monotonic() < deadline, "the listener did not get there in time"
        for listener in listeners:
            listener.step(timeout=0.1)


def idling(listener: IdleListener, channel: Channel) -> Callable[[], bool]:
    def check() -> bool:
        conn = listener.connections.get(channel.pk)
        return bool(conn and conn.phase is Phase.IDLING and not conn.syncing)

    return check


@contextmanager
def running(listener: IdleListener) -> Iterator[IdleListener]:
    try:
        yield listener
    finally:
        listener.shutdown()


def test_a_delivered_message_is_stored_by_the_listener(imap_channel, local_provider):
    channel = imap_channel()
    with running(IdleListener(name="listener-a")) as listener:
        step_until([listener], idling(listener, channel))
        held = Channel.objects.get(pk=channel.pk)
        assert held.idle_owner == "listener-a" and held.idle_since is not None
        assert Message.objects.filter(channel=channel).count() == 0
        control.append_messages(local_provider, channel.address, [control.make_message(recipient=channel.address)])
        # How soon is bench/new_mail.py's question; the deadline only stops a test that would hang.
        step_until([listener], lambda: Message.objects.filter(channel=channel).exists(), seconds=10)
    # A clean stop releases the channel for any other listener at once.
    released = Channel.objects.get(pk=channel.pk)
    assert (released.idle_owner, released.idle_until, released.idle_since) == ("", None, None)


def logins(local_provider: control.Instance, address: str) -> int:
    """Sign-ins to the mailbox as Local mail's Dovecot logged them: what the provider counts against us."""
    log = local_provider.dovecot_log.read_text(errors="replace")
    return log.count(f"imap-login: Info: Login: user=<{address}>")


def synced_after(channel: Channel, moment) -> Callable[[], bool]:
    def check() -> bool:
        last = Channel.objects.get(pk=channel.pk).last_synced_at
        return last is not None and last > moment

    return check


def test_announced_mail_is_stored_over_the_held_connection_with_no_new_login(imap_channel, local_provider):
    channel = imap_channel()
    with running(IdleListener(name="listener-a")) as listener:
        step_until([listener], idling(listener, channel))
        # The connection's own sync ran over it: one login in all.
        step_until([listener], lambda: Channel.objects.get(pk=channel.pk).last_synced_at is not None)
        step_until([listener], idling(listener, channel))
        signed_in = logins(local_provider, channel.address)
        assert signed_in == 1
        last_login = Channel.objects.get(pk=channel.pk).last_login_at
        for n in range(1, 4):
            message = control.make_message(recipient=channel.address)
            control.append_messages(local_provider, channel.address, [message])
            step_until([listener], lambda n=n: Message.objects.filter(channel=channel).count() == n)
            step_until([listener], idling(listener, channel))
        assert listener.connections[channel.pk].announced >= 3
        assert logins(local_provider, channel.address) == signed_in
        assert Channel.objects.get(pk=channel.pk).last_login_at == last_login


def test_the_listener_signs_in_afresh_on_its_cadence_and_syncs_over_the_new_connection(
    imap_channel, local_provider, settings
):
    channel = imap_channel()
    skew = [0.0]
    listener = IdleListener(name="listener-a", monotonic=lambda: time.monotonic() + skew[0])
    with running(listener):
        step_until([listener], idling(listener, channel))
        step_until([listener], lambda: Channel.objects.get(pk=channel.pk).last_synced_at is not None)
        held = Channel.objects.get(pk=channel.pk)
        first_client = listener.connections[channel.pk].client
        skew[0] += settings.IDLE_RELOGIN_MINUTES * 60 - 5
        listener.step(timeout=0.1)
        assert listener.connections[channel.pk].client is first_client  # not yet
        skew[0] += 5
        step_until([listener], synced_after(channel, held.last_synced_at))
        step_until([listener], idling(listener, channel))
        assert listener.connections[channel.pk].client is not first_client
        step_until([listener], lambda: logins(local_provider, channel.address) == 2)
        after = Channel.objects.get(pk=channel.pk)
        assert after.last_login_at > held.last_login_at
        # Still the same stretch of listening: the channel never fell back to polling.
        assert after.idle_since == held.idle_since
        assert listener.connections[channel.pk].drops == 0


def archive(local_provider: control.Instance, channel: Channel) -> None:
    """A message filed straight into Archive (a server-side rule): INBOX's IDLE does not announce it. The first
    one creates the folder before the listener signs in (Dovecot lists a folder made behind its back only to
    sessions that start after it)."""
    message = control.make_message(recipient=channel.address)
    control.append_messages(local_provider, channel.address, [message], folder="Archive")


def test_a_push_handed_to_the_listener_is_synced_over_its_connection_with_no_new_login(imap_channel, local_provider):
    """Mail that INBOX's IDLE does not announce (filed into another folder), found because a push asked."""
    channel = imap_channel()
    archive(local_provider, channel)
    with running(IdleListener(name="listener-a")) as listener:
        step_until([listener], lambda: Message.objects.filter(channel=channel).count() == 1)
        step_until([listener], idling(listener, channel))
        signed_in = logins(local_provider, channel.address)
        archive(local_provider, channel)
        assert idle_sync_request(channel_id=channel.pk, now=timezone.now())
        step_until([listener], lambda: Message.objects.filter(channel=channel).count() == 2)
        step_until([listener], idling(listener, channel))
        assert set(Message.objects.filter(channel=channel).values_list("folder__name", flat=True)) == {"Archive"}
        assert logins(local_provider, channel.address) == signed_in
        assert Channel.objects.get(pk=channel.pk).idle_sync_requests == 0


def test_a_push_an_idle_announcement_and_a_poll_racing_lose_and_double_nothing(imap_channel, local_provider):
    channel = imap_channel()
    address = channel.address
    archive(local_provider, channel)
    delivered = 1

    def poll() -> None:
        try:
            sync_channel(channel.pk, respect_backoff=False)
        finally:
            connection.close()

    with running(IdleListener(name="listener-a")) as listener:
        step_until([listener], lambda: Message.objects.filter(channel=channel).count() == 1)
        step_until([listener], idling(listener, channel))
        for round_ in range(3):
            inbox = [control.make_message(recipient=address) for _ in range(2)]
            control.append_messages(local_provider, address, inbox)  # announced by IDLE
            archive(local_provider, channel)  # told by the push only
            delivered += 3
            poller = threading.Thread(target=poll, name=f"poll-{round_}")
            poller.start()
            idle_sync_request(channel_id=channel.pk, now=timezone.now())
            step_until([listener], lambda poller=poller: not poller.is_alive(), seconds=30)
            poller.join()
            step_until([listener], lambda d=delivered: Message.objects.filter(channel=channel).count() >= d)
            step_until([listener], idling(listener, channel))
        stored = Message.objects.filter(channel=channel)
        assert stored.count() == delivered
        assert stored.values("identity").distinct().count() == delivered


def test_a_password_changed_at_the_server_needs_reauthorization_and_tells_the_admins(
    imap_channel, local_provider, provider_servers, tenancy
):
    channel = imap_channel()
    with running(IdleListener(name="listener-a")) as listener:
        step_until([listener], idling(listener, channel))
        control.set_password(local_provider, channel.address, "changed-at-the-server")
        # Servers end sessions on a password change (or restart); the listener signs in again.
        control.stop_imap(local_provider)
        control.start_imap(local_provider)
        step_until([listener], lambda: channel.pk not in listener.connections, seconds=20)
    channel.refresh_from_db()
    assert channel.status == ChannelStatus.NEEDS_REAUTH
    assert channel.idle_owner == ""
    told = set(
        Notification.objects.filter(channel=channel, kind=NotificationKind.NEEDS_REAUTH).values_list(
            "recipient__email", flat=True
        )
    )
    assert told == {tenancy.admin.email}  # the company admin of the shared inbox; not the plain member


def test_a_dead_listeners_channels_are_taken_over_after_its_lease(imap_channel, local_provider, settings):
    channel = imap_channel()
    dead = IdleListener(name="listener-dead")
    step_until([dead], idling(dead, channel))
    # Killed: no DONE, no release; its connection just goes away with the process.
    for conn in dead.connections.values():
        assert conn.client is not None
        conn.client.shutdown()
    dead.connections.clear()
    dead._pool.shutdown()

    later = timezone.now() + timedelta(seconds=settings.IDLE_LEASE_SECONDS + 1)
    with running(IdleListener(name="listener-b", clock=lambda: later)) as other:
        other.lease_round()
        assert channel.pk in other.connections
        step_until([other], idling(other, channel))
        assert Channel.objects.get(pk=channel.pk).idle_owner == "listener-b"
        control.append_messages(local_provider, channel.address, [control.make_message(recipient=channel.address)])
        step_until([other], lambda: Message.objects.filter(channel=channel).exists(), seconds=10)


def test_an_announced_sync_racing_a_poll_loses_and_doubles_nothing(imap_channel, local_provider, monkeypatch):
    """The poll lists the folder, then more mail arrives and is announced while it still runs: the announced
    sync finds the channel busy, waits for the poll, then imports the rest. Each message is stored once."""
    channel = imap_channel()
    address = channel.address
    control.append_messages(local_provider, address, [control.make_message(recipient=address) for _ in range(3)])
    poll_listed = threading.Event()
    announced_started = threading.Event()
    real_sync = operations.sync

    def slow_sync(ch: Channel, **options) -> str:
        if threading.current_thread().name == "poll":
            line = real_sync(ch, **options)  # stores the first three
            control.append_messages(local_provider, address, [control.make_message(recipient=address)])
            poll_listed.set()
            assert announced_started.wait(10)
            time.sleep(1.5)  # the announced sync meets the lease held
            return line
        return real_sync(ch, **options)

    monkeypatch.setattr(operations, "sync", slow_sync)
    results: dict[str, str] = {}

    def poll() -> None:
        try:
            results["poll"] = sync_channel(channel.pk)
        finally:
            connection.close()

    def announced() -> None:
        assert poll_listed.wait(10)
        announced_started.set()
        try:
            results["announced"] = new_mail_channel(channel.pk)
        finally:
            connection.close()

    threads = [threading.Thread(target=poll, name="poll"), threading.Thread(target=announced, name="idle")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert "imported 3" in results["poll"]
    assert "imported 1" in results["announced"]
    assert Message.objects.filter(channel=channel).count() == 4
    assert Message.objects.filter(channel=channel).values("identity").distinct().count() == 4
