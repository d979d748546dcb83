"""The IDLE listener: one IMAP IDLE connection (RFC 2177) per channel it holds, a sync when the server
announces new mail.

Concurrency. A thread per connection would be the simplest, but every thread that touches the ORM
opens its own database connection (1,000 channels: 1,000 PostgreSQL connections) and keeps a stack.
An idle connection needs nothing but its socket, so one loop thread watches every socket with a
selector, and a small pool (IDLE_WORKERS) does the blocking work: signing in, re-issuing IDLE, closing
and queueing syncs. bench/idle_listener.py measures it (RSS and CPU at 100 and 1,000 channels).

Failures are not classified here. A connection is opened by `health.run_check`, the path every sync
takes, with an operation that signs in, selects INBOX and starts IDLE; so a refused password, an
outage, a policy block or a bug of ours is recorded, backed off and told to the right people exactly
as a sync's would be. A connection that drops later (the server restarts, the network blips, a server
that logs us off) is simply opened again, with exponential backoff, and that attempt is the one
classified. Every (re)connection queues a sync, for the mail that arrived while nobody was listening.

IDLE watches the selected folder, INBOX: mail that a server-side rule files elsewhere is found by the
safety-net poll (tasks.channels_to_sync).
"""

import enum
import logging
import os
import queue
import re
import selectors
import socket
import ssl
import sys
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, suppress
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection
from django.utils import timezone
from django_q.tasks import async_task
from imapclient import IMAPClient

from channels_app.models import Channel
from channels_app.selectors import idle_candidates
from channels_app.services.health import CheckOutcome, run_check
from channels_app.services.idle_lease import (
    idle_claim,
    idle_confirmed,
    idle_release,
    idle_renew,
    idle_started,
    idle_stopped,
    idle_unsupported,
)
from channels_app.services.mailbox import channel_mailbox

logger = logging.getLogger(__name__)

Clock = Callable[[], datetime]
Enqueue = Callable[[int], None]

# RFC 3501 7.3.1 and 7.3.2: the untagged answers that say a message arrived in the selected folder.
_NEW_MAIL = re.compile(rb"^\* \d+ (?:EXISTS|RECENT)\b", re.IGNORECASE)
_BYE = re.compile(rb"^\* BYE\b", re.IGNORECASE)
# A connection that held this long was healthy: its next drop starts the backoff from the beginning.
_STABLE_SECONDS = 60
# What the server may send during IDLE without ending a line (untagged answers are short).
_LONGEST_LINE = 64 * 1024
# Another worker holds the channel's sync lease: try again shortly.
_BUSY_RETRY_SECONDS = 2.0


def queue_new_mail_sync(channel_id: int) -> None:
    async_task("channels_app.tasks.new_mail_channel", channel_id, task_name=f"new-mail-{channel_id}")


def listener_name() -> str:
    """Shown on the channel's Overview tab: which machine and process holds its IDLE."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"[:100]


class _TakenOver(Exception):
    """Our IDLE lease went to another listener while we signed in."""


class Phase(enum.Enum):
    WAITING = "waiting"  # for its (re)connection time
    CONNECTING = "connecting"  # a worker is signing in
    IDLING = "idling"  # the loop watches its socket
    REISSUING = "reissuing"  # a worker sends DONE and IDLE again
    CLOSED = "closed"


@dataclass(eq=False)
class IdleConnection:
    """One channel's connection; its fields change on the loop thread only (workers hand results back)."""

    channel_id: int
    phase: Phase = Phase.WAITING
    client: IMAPClient | None = None
    # Closing it logs out through the same code that opened the mailbox.
    stack: ExitStack | None = None
    retry_at: float = 0.0
    reissue_at: float = 0.0
    connected_at: float = 0.0
    drops: int = 0
    # Lines are split here: a read may end in the middle of one.
    pending: bytes = b""
    syncing: bool = False
    sync_again: bool = False
    # Let go while a worker had it: closed when the worker hands it back.
    abandoned: bool = False
    # New-mail announcements seen on this connection.
    announced: int = 0


@dataclass(frozen=True)
class _Opened:
    """What a connection attempt left: a client idling, or why not and how long to wait."""

    client: IMAPClient | None
    stack: ExitStack | None
    outcome: CheckOutcome
    retry_after: float = 0.0
    # The server offers no IDLE: the channel was let go, to polling.
    unsupported: bool = False


def read_idle_lines(client: IMAPClient, conn: IdleConnection, *, signalled: bool) -> tuple[list[bytes], bool]:
    """Whole lines the server sent during IDLE, and whether it closed the connection.

    Not imapclient's `idle_check`: it reports a closed connection as "nothing yet" (both end its loop),
    and a listener holding a connection for hours must know the server hung up. The bytes are taken
    from imaplib's own buffer (`read1`), so nothing imaplib read ahead is lost. A socket the selector
    reported readable that gives no bytes at all has reached its end.
    """
    sock = client.socket()
    reader = client._imap.file
    sock.setblocking(False)
    got = b""
    closed = False
    try:
        while True:
            try:
                data = reader.read1(65536)
            except (ssl.SSLWantReadError, BlockingIOError):
                break  # a TLS record with no data for us yet
            except OSError:
                closed = True
                break
            if not data:
                closed = signalled and not got
                break
            got += data
    finally:
        with suppress(OSError):
            sock.settimeout(settings.IMAP_TIMEOUT_SECONDS)
    *lines, conn.pending = (conn.pending + got).split(b"\r\n")
    if len(conn.pending) > _LONGEST_LINE:
        closed = True  # not IMAP: a server that sends this much without a line end is not idling
    return lines, closed


def announces_new_mail(lines: list[bytes]) -> bool:
    return any(_NEW_MAIL.match(line) for line in lines)


def says_bye(lines: list[bytes]) -> bool:
    return any(_BYE.match(line) for line in lines)


def backoff_seconds(drops: int) -> float:
    return float(min(2 ** max(drops - 1, 0), settings.IDLE_RECONNECT_MAX_SECONDS))


class IdleListener:
    """Claims channels, holds their IDLE connections and queues syncs; `run` until `stop`."""

    def __init__(
        self,
        *,
        name: str | None = None,
        clock: Clock = timezone.now,
        monotonic: Callable[[], float] = time.monotonic,
        enqueue: Enqueue = queue_new_mail_sync,
        max_channels: int | None = None,
        workers: int | None = None,
    ) -> None:
        self.name = name or listener_name()
        self.clock = clock
        self.monotonic = monotonic
        self.enqueue = enqueue
        self.max_channels = max_channels or settings.IDLE_MAX_CHANNELS
        self.connections: dict[int, IdleConnection] = {}
        self._selector = selectors.DefaultSelector()
        self._pool = ThreadPoolExecutor(workers or settings.IDLE_WORKERS, thread_name_prefix="idle-worker")
        # Workers hand results back as callables the loop thread runs; the socket pair wakes its select.
        self._handed_back: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._wake_reader, self._wake_writer = socket.socketpair()
        self._wake_reader.setblocking(False)
        self._selector.register(self._wake_reader, selectors.EVENT_READ, None)
        self._stopping = threading.Event()
        self._closing = False
        self._next_round = 0.0
        self._renewed_at = self.monotonic()

    # The loop ---------------------------------------------------------------------------------

    def run(self) -> None:
        try:
            while not self._stopping.is_set():
                self.step(timeout=1.0)
        finally:
            self.shutdown()

    def stop(self) -> None:
        """Ask `run` to end (from a signal handler or another thread); it then releases everything."""
        self._stopping.set()
        self._wake()

    def step(self, timeout: float = 1.0) -> None:
        """One turn: the lease round when due, connections due to (re)connect or re-issue, then whatever the
        servers and the workers have to say."""
        if self.monotonic() >= self._next_round:
            self._lease_round_or_let_go()
            self._next_round = self.monotonic() + settings.IDLE_LEASE_SECONDS / 3
        self._start_due_work()
        for key, _ in self._selector.select(timeout):
            if key.data is None:
                with suppress(BlockingIOError):
                    self._wake_reader.recv(4096)
            else:
                self._readable(key.data)
        while True:
            try:
                handed_back = self._handed_back.get_nowait()
            except queue.Empty:
                break
            handed_back()

    def _lease_round_or_let_go(self) -> None:
        """A lease round; while the database fails we keep our connections until our leases are about to run
        out, then let go of all of them, since another listener may claim them then."""
        try:
            self.lease_round()
        except DatabaseError:
            logger.exception("IDLE listener %s could not renew its leases", self.name)
            if not connection.in_atomic_block:  # (a test runs the loop inside its transaction)
                connection.close()  # opened afresh at the next round
            # Before the leases expire (rounds come every third of them), not after: no second holder.
            if self.monotonic() - self._renewed_at >= settings.IDLE_LEASE_SECONDS * 2 / 3:
                for channel_id in list(self.connections):
                    self._let_go(channel_id, release=False)
            return
        self._renewed_at = self.monotonic()

    def lease_round(self) -> None:
        """Renew what we hold, let go of what another listener took over or that no longer wants IDLE, and
        claim more channels nobody holds."""
        now = self.clock()
        held = set(self.connections)
        if held:
            still_ours = idle_renew(owner=self.name, channel_ids=held, now=now)
            for channel_id in held - still_ours:
                logger.warning("IDLE listener %s lost channel %s to another listener", self.name, channel_id)
                self._let_go(channel_id, release=False)
            wanted = set(idle_candidates(now).filter(pk__in=still_ours).values_list("pk", flat=True))
            for channel_id in still_ours - wanted:
                self._let_go(channel_id, release=True)
        room = self.max_channels - len(self.connections)
        limit = min(settings.IDLE_CLAIM_BATCH, room)
        for channel_id in idle_claim(owner=self.name, limit=limit, now=now):
            self.connections[channel_id] = IdleConnection(channel_id)

    def _start_due_work(self) -> None:
        now = self.monotonic()
        for conn in list(self.connections.values()):
            if conn.phase is Phase.WAITING and conn.retry_at <= now:
                conn.phase = Phase.CONNECTING
                self._submit(self._connect, conn)
            elif conn.phase is Phase.IDLING and conn.reissue_at <= now:
                self._unwatch(conn)
                conn.phase = Phase.REISSUING
                self._submit(self._reissue, conn)

    def _readable(self, conn: IdleConnection) -> None:
        if conn.phase is not Phase.IDLING or conn.client is None:
            return
        lines, closed = read_idle_lines(conn.client, conn, signalled=True)
        if announces_new_mail(lines):
            self._new_mail(conn)
        if closed or says_bye(lines):
            self._dropped(conn, "the server closed the connection")

    def _new_mail(self, conn: IdleConnection) -> None:
        conn.announced += 1
        if conn.syncing:
            conn.sync_again = True  # one more sync after the running one, not one per announcement
            return
        conn.syncing = True
        self._submit(self._queue_sync, conn)

    def _dropped(self, conn: IdleConnection, why: str) -> None:
        logger.info("IDLE on channel %s ended (%s); reconnecting", conn.channel_id, why)
        self._unwatch(conn)
        lasted = self.monotonic() - conn.connected_at
        conn.drops = 1 if lasted >= _STABLE_SECONDS else conn.drops + 1
        self._wait(conn, backoff_seconds(conn.drops))
        self._close_later(conn)
        self._submit(lambda c: idle_stopped(owner=self.name, channel_id=c.channel_id), conn, hand_back=False)

    def _wait(self, conn: IdleConnection, seconds: float) -> None:
        conn.phase = Phase.WAITING
        conn.retry_at = self.monotonic() + seconds

    def _let_go(self, channel_id: int, *, release: bool) -> None:
        conn = self.connections.pop(channel_id)
        if conn.phase in (Phase.CONNECTING, Phase.REISSUING):
            conn.abandoned = True
        else:
            self._unwatch(conn)
            self._close_later(conn)
        if release:
            idle_release(owner=self.name, channel_ids=[channel_id])

    # Work on the pool ---------------------------------------------------------------------------

    def _submit(
        self, work: Callable[[IdleConnection], object], conn: IdleConnection, *, hand_back: bool = True
    ) -> None:
        def job() -> None:
            close_old_connections()
            try:
                result = work(conn)
            except Exception:
                logger.exception("IDLE listener work on channel %s failed", conn.channel_id)
                result = None
            finally:
                close_old_connections()
            if hand_back and callable(result):
                self._handed_back.put(result)
                self._wake()

        self._pool.submit(job)

    def _connect(self, conn: IdleConnection) -> Callable[[], None]:
        opened = self._open(conn.channel_id)
        return lambda: self._connected(conn, opened)

    def _open(self, channel_id: int) -> _Opened:
        """Sign in, select INBOX and start IDLE, all inside `run_check`: its failures are classified,
        recorded and backed off as a sync's are."""
        held: list[tuple[ExitStack, IMAPClient]] = []
        unsupported: list[bool] = []

        def start_idle(channel: Channel) -> str:
            stack = ExitStack()
            client = stack.enter_context(channel_mailbox(channel))
            try:
                if not client.has_capability("IDLE"):
                    unsupported.append(True)
                    stack.close()
                    return "the mail server offers no IDLE; polled instead"
                client.select_folder("INBOX", readonly=True)
                client.idle()
            except BaseException:
                # Thrown into the mailbox's context, which classifies it as it would during a sync.
                if not stack.__exit__(*sys.exc_info()):
                    raise
                raise
            held.append((stack, client))
            return "IDLE started"

        try:
            result = run_check(channel_id, start_idle, cause="IDLE listener")
            now = self.clock()
            if held and not idle_started(owner=self.name, channel_id=channel_id, now=now):
                raise _TakenOver
        except BaseException as error:
            # Recording the outcome failed, or another listener took the channel while we signed in:
            # nothing may keep the connection (a context left to the garbage collector logs out blocking).
            for stack, client in held:
                close_idle_connection(client, stack)
            if isinstance(error, _TakenOver):
                return _Opened(None, None, CheckOutcome.SKIPPED)
            raise
        if held:
            stack, client = held[0]
            return _Opened(client, stack, result.outcome)
        if unsupported:
            idle_unsupported(owner=self.name, channel_id=channel_id, now=now)
            return _Opened(None, None, CheckOutcome.SKIPPED, unsupported=True)
        if result.outcome is CheckOutcome.BUSY:
            return _Opened(None, None, result.outcome, _BUSY_RETRY_SECONDS)
        # Skipped for its backoff, or failed (recorded by run_check): not before its next attempt.
        next_attempt = Channel.objects.filter(pk=channel_id).values_list("next_attempt_at", flat=True).first()
        wait = (next_attempt - now).total_seconds() if next_attempt else 0.0
        return _Opened(None, None, result.outcome, max(wait, 0.0))

    def _connected(self, conn: IdleConnection, opened: _Opened) -> None:
        """Back on the loop thread after a connection attempt."""
        if conn.abandoned:
            conn.client, conn.stack = opened.client, opened.stack
            self._close_later(conn)
            return
        if opened.client is None:
            if opened.unsupported:
                self.connections.pop(conn.channel_id, None)
                return
            if opened.outcome is not CheckOutcome.BUSY:
                conn.drops += 1
            self._wait(conn, max(opened.retry_after, backoff_seconds(conn.drops)))
            if not idle_candidates(self.clock()).filter(pk=conn.channel_id).exists():
                self._let_go(conn.channel_id, release=True)  # needs reauthorization now, or disconnected
            return
        conn.client, conn.stack, conn.pending = opened.client, opened.stack, b""
        conn.phase = Phase.IDLING
        conn.connected_at = self.monotonic()
        conn.reissue_at = conn.connected_at + settings.IDLE_REISSUE_SECONDS
        self._selector.register(opened.client.socket(), selectors.EVENT_READ, conn)
        # Mail that arrived while nobody listened; and whatever the server sent right after "+ idling".
        self._new_mail(conn)
        self._readable_now(conn)

    def _readable_now(self, conn: IdleConnection) -> None:
        if conn.client is None:
            return
        lines, _ = read_idle_lines(conn.client, conn, signalled=False)
        if announces_new_mail(lines):
            self._new_mail(conn)

    def _reissue(self, conn: IdleConnection) -> Callable[[], None]:
        """DONE, then IDLE again, before the server's 30-minute limit (RFC 2177)."""
        client = conn.client
        assert client is not None
        try:
            _, responses = client.idle_done()
            client.idle()
        except Exception as error:
            why = f"re-issuing IDLE failed ({type(error).__name__})"
            return lambda: self._reissue_failed(conn, why)
        idle_confirmed(owner=self.name, channel_id=conn.channel_id, now=self.clock())
        arrived = any(isinstance(r, tuple) and len(r) > 1 and r[1] in (b"EXISTS", b"RECENT") for r in responses)
        return lambda: self._reissued(conn, arrived)

    def _reissued(self, conn: IdleConnection, arrived: bool) -> None:
        if conn.abandoned:
            self._close_later(conn)
            return
        conn.phase = Phase.IDLING
        conn.reissue_at = self.monotonic() + settings.IDLE_REISSUE_SECONDS
        assert conn.client is not None
        self._selector.register(conn.client.socket(), selectors.EVENT_READ, conn)
        if arrived:
            self._new_mail(conn)
        self._readable_now(conn)

    def _reissue_failed(self, conn: IdleConnection, why: str) -> None:
        if conn.abandoned:
            self._close_later(conn)
            return
        self._dropped(conn, why)

    def _queue_sync(self, conn: IdleConnection) -> Callable[[], None]:
        self.enqueue(conn.channel_id)
        return lambda: self._sync_queued(conn)

    def _sync_queued(self, conn: IdleConnection) -> None:
        conn.syncing = False
        if conn.sync_again and not conn.abandoned:
            conn.sync_again = False
            self._new_mail(conn)

    # Closing ------------------------------------------------------------------------------------

    def _unwatch(self, conn: IdleConnection) -> None:
        if conn.client is not None:
            with suppress(KeyError, ValueError, OSError):
                self._selector.unregister(conn.client.socket())

    def _close_later(self, conn: IdleConnection) -> None:
        client, stack = conn.client, conn.stack
        conn.client = conn.stack = None
        if client is None:
            return
        if self._closing:  # the pool is shutting down: close here
            close_idle_connection(client, stack)
        else:
            self._pool.submit(close_idle_connection, client, stack)

    def _wake(self) -> None:
        with suppress(OSError):
            self._wake_writer.send(b"x")

    def shutdown(self) -> None:
        """End every IDLE with DONE and LOGOUT and release every lease: another listener takes over at once."""
        held = list(self.connections)
        for channel_id in held:
            conn = self.connections[channel_id]
            if conn.phase is Phase.IDLING:
                self._unwatch(conn)
                self._close_later(conn)
            else:
                conn.abandoned = True
        self._pool.shutdown(wait=True, cancel_futures=False)
        self._closing = True
        while True:  # results of work that finished meanwhile: close what it opened
            try:
                self._handed_back.get_nowait()()
            except queue.Empty:
                break
        for conn in self.connections.values():
            if conn.client is not None:
                close_idle_connection(conn.client, conn.stack)
        self.connections.clear()
        idle_release(owner=self.name, channel_ids=held)
        self._selector.close()
        self._wake_reader.close()
        self._wake_writer.close()


def close_idle_connection(client: IMAPClient, stack: ExitStack | None) -> None:
    """DONE, then LOGOUT (the mailbox context's own exit); the server may be gone already."""
    with suppress(Exception):
        client.socket().settimeout(5)
        client.idle_done()
    if stack is not None:
        with suppress(Exception):
            stack.close()
    with suppress(Exception):
        client.shutdown()
