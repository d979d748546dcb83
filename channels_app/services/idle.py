"""The IDLE listener: one IMAP IDLE connection (RFC 2177) per channel it holds, and the channel's syncs over
that connection, so new mail costs no login.

Concurrency. A thread per connection would be the simplest, but every thread that touches the ORM
opens its own database connection (1,000 channels: 1,000 PostgreSQL connections) and keeps a stack.
An idle connection needs nothing but its socket, so one loop thread watches every socket with a
selector, and a small pool (IDLE_WORKERS) does the blocking work: signing in, syncing, re-issuing IDLE and
closing. bench/idle_listener.py measures it (RSS and CPU at 100 and 1,000 channels).

Syncing over the held connection. When the server announces new mail, when a connection is (re)opened, and
when a push was handed over (Gmail's watch, Graph: idle_lease.idle_sync_request), a worker sends DONE, runs
the ordinary incremental import (operations.sync, through health.run_check: the sync lease, the failure
classification, alerts and last_synced_at exactly as for a worker's sync), selects INBOX and sends IDLE
again. Mail that reached INBOX while that ran (its UIDNEXT moved between the SELECTs before and after) is
synced once more. Two cases keep the worker's sync with its own login (queue_new_mail_sync): a backfill open
on the channel (long work that would hold the connection, and every announcement, for minutes) and another
worker holding the sync lease (it may have listed the folder before the new mail came; the queued sync
waits for it). Every IDLE_RELOGIN_MINUTES the listener logs out and signs in afresh: that login is the
channel's credentials check (the probe pass skips it) and the sync over the new connection its safety net
(the poll pass skips a healthy IDLE); a safety-net sync that finds INBOX mail the server never announced
reports the IDLE silent (idle_silence_check).

Failures are not classified here. A connection is opened by `health.run_check`, the path every sync
takes, with an operation that signs in, selects INBOX and starts IDLE; so a refused password, an
outage, a policy block or a bug of ours is recorded, backed off and told to the right people exactly
as a sync's would be. A connection that drops later (the server restarts, the network blips, a server
that logs us off) is simply opened again, with exponential backoff, and that attempt is the one
classified. Every (re)connection syncs, for the mail that arrived while nobody was listening; a sync over
the connection that fails is classified the same way (the exception goes through the mailbox's context) and
the connection is opened again.

IDLE watches the selected folder, INBOX: mail that a server-side rule files elsewhere is found by the
sync after the next relogin, which reads every folder.
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
from contextlib import ExitStack, nullcontext, suppress
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection, transaction
from django.utils import timezone
from django_q.tasks import async_task
from imapclient import IMAPClient

from channels_app.metrics import MailPath
from channels_app.models import Channel, Message
from channels_app.selectors import idle_candidates
from channels_app.selectors.backfill import open_backfill
from channels_app.services import operations
from channels_app.services.health import CheckOutcome, run_check
from channels_app.services.idle_lease import (
    idle_claim,
    idle_confirmed,
    idle_release,
    idle_renew,
    idle_started,
    idle_stopped,
    idle_sync_requests_take,
    idle_unsupported,
)
from channels_app.services.mailbox import channel_mailbox
from channels_app.services.push_silence import PushPath, report_silent, unannounced

logger = logging.getLogger(__name__)
# What staff are told when a server's IDLE lets INBOX mail arrive unannounced (services/push_silence.py).
IDLE_PUSH = PushPath(
    announcement="new-mail announcement over IDLE",
    notifications="IDLE announcements",
    advice="the server's IDLE does not announce arrivals in INBOX",
    found_by="the listener's sync after a relogin",
)

T = TypeVar("T")
Clock = Callable[[], datetime]
Enqueue = Callable[[int], None]

# RFC 3501 7.3.1 and 7.3.2: the untagged answers that say a message arrived in the selected folder.
_NEW_MAIL = re.compile(rb"^\* \d+ (?:EXISTS|RECENT)\b", re.IGNORECASE)
_BYE = re.compile(rb"^\* BYE\b", re.IGNORECASE)
# A connection that held this long was healthy: its next drop starts the backoff from the beginning.
_STABLE_SECONDS = 60
# What the server may send during IDLE without ending a line (untagged answers are short).
_LONGEST_LINE = 64 * 1024
# The loop's longest wait for its sockets: a push handed over (idle_sync_request) waits at most this for the
# tick that takes it, and each tick asks the database once (bench/new_mail.py: Gmail push and Graph p95).
_TICK_SECONDS = 0.5
# Another worker holds the channel's sync lease: try again shortly (signing in), or the sync is in backoff.
_BUSY_RETRY_SECONDS = 2.0


class SyncReason(enum.Enum):
    """Why a sync over the connection is wanted; reasons add up while one runs, and the next takes them all."""

    ANNOUNCED = "announced"  # the server said EXISTS or RECENT
    OPENED = "opened"  # a new connection: mail that came while nobody listened
    RELOGIN = "relogin"  # the planned relogin's connection: the safety net
    REQUESTED = "requested"  # a push handed over (idle_lease.idle_sync_request)
    MOVED = "moved"  # INBOX's UIDNEXT moved while the last sync ran
    RETRY = "retry"  # the last one was skipped for the channel's backoff


class SyncEnd(enum.Enum):
    """How a sync over the connection ended, for the loop thread."""

    IDLING = "idling"  # synced; IDLE again
    UNTOUCHED = "untouched"  # not run here (a worker's sync was queued, or backoff): still idling as before
    LOST = "lost"  # the connection is closed (a failure, recorded; or the lease lost mid-way): open it again


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
    SYNCING = "syncing"  # a worker sends DONE, syncs over the connection, and IDLE again
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
    relogin_at: float = 0.0
    connected_at: float = 0.0
    drops: int = 0
    # Lines are split here: a read may end in the middle of one.
    pending: bytes = b""
    # Why the next sync over the connection is wanted (empty: none is), and not before when (a retry).
    sync_reasons: set[SyncReason] = field(default_factory=set)
    sync_at: float = 0.0
    # What the running sync was asked for.
    syncing_for: set[SyncReason] = field(default_factory=set)
    # The next connection is a planned relogin (its sync is the safety net), not a reconnection after a drop.
    relogin: bool = False
    # Let go while a worker had it: closed when the worker hands it back.
    abandoned: bool = False
    # New-mail announcements seen on this connection.
    announced: int = 0

    @property
    def syncing(self) -> bool:
        return self.phase is Phase.SYNCING


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
                self.step(timeout=_TICK_SECONDS)
        finally:
            self.shutdown()

    def stop(self) -> None:
        """Ask `run` to end (from a signal handler or another thread); it then releases everything."""
        self._stopping.set()
        self._wake()

    def step(self, timeout: float = _TICK_SECONDS) -> None:
        """One turn: the lease round when due, connections due to (re)connect or re-issue, then whatever the
        servers and the workers have to say."""
        if self.monotonic() >= self._next_round:
            self._lease_round_or_let_go()
            self._next_round = self.monotonic() + settings.IDLE_LEASE_SECONDS / 3
        self._take_sync_requests()
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

    def _take_sync_requests(self) -> None:
        """Syncs that pushes handed over (idle_lease.idle_sync_request): one query a tick, whatever we hold."""
        if not self.connections:
            return
        try:
            requested = idle_sync_requests_take(owner=self.name)
        except DatabaseError:
            # The lease round says what a failing database means for our connections; the requests keep.
            logger.exception("IDLE listener %s could not read the syncs asked of it", self.name)
            return
        for channel_id in requested:
            conn = self.connections.get(channel_id)
            if conn is not None:
                self.want_sync(conn, SyncReason.REQUESTED)

    def _start_due_work(self) -> None:
        now = self.monotonic()
        for conn in list(self.connections.values()):
            if conn.phase is Phase.WAITING and conn.retry_at <= now:
                conn.phase = Phase.CONNECTING
                self._submit(self._connect, conn)
            elif conn.phase is Phase.IDLING and conn.relogin_at <= now:
                self._relogin(conn)
            elif conn.phase is Phase.IDLING and conn.reissue_at <= now:
                self._unwatch(conn)
                conn.phase = Phase.REISSUING
                self._submit(self._reissue, conn)
            elif conn.phase is Phase.IDLING and conn.sync_reasons and conn.sync_at <= now:
                self._start_sync(conn)

    def _relogin(self, conn: IdleConnection) -> None:
        """LOGOUT and sign in afresh at once: the credentials check and the safety-net sync. Not a drop: the
        channel stays healthy (idle_since kept) for the moment the new connection takes."""
        self._unwatch(conn)
        self._close_later(conn)
        conn.relogin = True
        conn.phase = Phase.CONNECTING
        self._submit(self._connect, conn)

    def _readable(self, conn: IdleConnection) -> None:
        if conn.phase is not Phase.IDLING or conn.client is None:
            return
        lines, closed = read_idle_lines(conn.client, conn, signalled=True)
        if closed or says_bye(lines):
            self._dropped(conn, "the server closed the connection")
        elif announces_new_mail(lines):
            self._new_mail(conn)

    def _new_mail(self, conn: IdleConnection) -> None:
        conn.announced += 1
        self.want_sync(conn, SyncReason.ANNOUNCED)

    def want_sync(self, conn: IdleConnection, reason: SyncReason) -> None:
        """Sync over the connection now if it is idling, else once it idles again: one more sync after a
        running one, not one per announcement."""
        conn.sync_reasons.add(reason)
        if conn.phase is Phase.IDLING and conn.sync_at <= self.monotonic():
            self._start_sync(conn)

    def _start_sync(self, conn: IdleConnection) -> None:
        self._unwatch(conn)
        conn.phase = Phase.SYNCING
        conn.syncing_for, conn.sync_reasons, conn.sync_at = conn.sync_reasons, set(), 0.0
        self._submit(self._sync_here, conn)

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
        if conn.phase in (Phase.CONNECTING, Phase.REISSUING, Phase.SYNCING):
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
            if not in_mailbox(stack, lambda: client.has_capability("IDLE")):
                unsupported.append(True)
                stack.close()
                return "the mail server offers no IDLE; polled instead"
            in_mailbox(stack, lambda: (client.select_folder("INBOX", readonly=True), client.idle()))
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
            if conn.relogin:  # a planned relogin that failed: polled as usual until IDLE is back
                conn.relogin = False
                self._submit(lambda c: idle_stopped(owner=self.name, channel_id=c.channel_id), conn, hand_back=False)
            if not idle_candidates(self.clock()).filter(pk=conn.channel_id).exists():
                self._let_go(conn.channel_id, release=True)  # needs reauthorization now, or disconnected
            return
        conn.client, conn.stack, conn.pending = opened.client, opened.stack, b""
        conn.connected_at = self.monotonic()
        conn.relogin_at = conn.connected_at + settings.IDLE_RELOGIN_MINUTES * 60
        # Mail that arrived while nobody listened (or, after a planned relogin, the safety net).
        conn.sync_reasons.add(SyncReason.RELOGIN if conn.relogin else SyncReason.OPENED)
        conn.relogin = False
        self._idling(conn)

    def _idling(self, conn: IdleConnection) -> None:
        """The connection idles (again): watch it, start a sync that was asked for meanwhile, and read whatever
        the server sent right after "+ idling"."""
        assert conn.client is not None
        conn.phase = Phase.IDLING
        conn.reissue_at = self.monotonic() + settings.IDLE_REISSUE_SECONDS
        self._selector.register(conn.client.socket(), selectors.EVENT_READ, conn)
        if conn.sync_reasons and conn.sync_at <= self.monotonic():
            self._start_sync(conn)
        else:
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
        if arrived:
            conn.announced += 1
            conn.sync_reasons.add(SyncReason.ANNOUNCED)
        self._idling(conn)

    def _reissue_failed(self, conn: IdleConnection, why: str) -> None:
        if conn.abandoned:
            self._close_later(conn)
            return
        self._dropped(conn, why)

    def _sync_here(self, conn: IdleConnection) -> Callable[[], None]:
        try:
            return self._sync_over_connection(conn, conn.syncing_for)
        except Exception:
            # Our own failure outside run_check (the database, say): the connection's state is unknown.
            logger.exception("IDLE listener sync on channel %s failed", conn.channel_id)
            return lambda: self._synced(conn, SyncEnd.LOST, why="the listener's sync failed")

    def _sync_over_connection(self, conn: IdleConnection, reasons: set[SyncReason]) -> Callable[[], None]:
        """DONE, the incremental import over this connection, SELECT INBOX and IDLE again (see the module's
        docstring); or the worker's sync with its own login when a backfill is open or the lease is busy."""
        client, stack, channel_id = conn.client, conn.stack, conn.channel_id
        assert client is not None and stack is not None
        started = self.clock()
        if SyncReason.ANNOUNCED in reasons:
            idle_confirmed(owner=self.name, channel_id=channel_id, now=started, announced=True)
        if open_backfill(Channel(pk=channel_id)) is not None:
            self.enqueue(channel_id)  # long work: a worker's sync, which the backfill rides along
            return lambda: self._synced(conn, SyncEnd.UNTOUCHED)
        # Announced by the server or handed over by a push: its mail's latency counts (channels_app/metrics.py).
        push = MailPath.IDLE if reasons & {SyncReason.ANNOUNCED, SyncReason.REQUESTED, SyncReason.MOVED} else None
        over = _OverConnection(client, stack, push)
        result = run_check(channel_id, over.sync, cause="IDLE listener sync", respect_backoff=True)
        if not over.started:
            if result.outcome is CheckOutcome.BUSY:
                self.enqueue(channel_id)  # it waits for the running sync, then reads again
                return lambda: self._synced(conn, SyncEnd.UNTOUCHED)
            # In backoff (or disconnected): still idling; asked again when the backoff ends.
            wait = self._retry_wait(channel_id)
            return lambda: self._synced(conn, SyncEnd.UNTOUCHED, retry=reasons | {SyncReason.RETRY}, wait=wait)
        if not over.idling:
            why = f"the sync over the connection ended {result.outcome}"
            return lambda: self._synced(conn, SyncEnd.LOST, why=why)
        now = self.clock()
        idle_confirmed(owner=self.name, channel_id=channel_id, now=now)
        if SyncReason.RELOGIN in reasons:
            idle_silence_check(owner=self.name, channel_id=channel_id, imported_since=started, now=now)
        return lambda: self._synced(conn, SyncEnd.IDLING, moved=over.moved)

    def _synced(
        self,
        conn: IdleConnection,
        end: SyncEnd,
        *,
        moved: bool = False,
        retry: set[SyncReason] | None = None,
        wait: float = 0.0,
        why: str = "",
    ) -> None:
        """Back on the loop thread after a sync over the connection."""
        if conn.abandoned:
            self._close_later(conn)
            return
        if end is SyncEnd.LOST:
            self._dropped(conn, why)
            return
        if moved:
            conn.sync_reasons.add(SyncReason.MOVED)
        if retry:
            conn.sync_reasons |= retry
            conn.sync_at = self.monotonic() + wait
        if end is SyncEnd.IDLING:
            self._idling(conn)
        else:  # IDLE was never ended: its reissue time stands
            reissue_at = conn.reissue_at
            self._idling(conn)
            conn.reissue_at = reissue_at

    def _retry_wait(self, channel_id: int) -> float:
        next_attempt = Channel.objects.filter(pk=channel_id).values_list("next_attempt_at", flat=True).first()
        wait = (next_attempt - self.clock()).total_seconds() if next_attempt else 0.0
        return max(wait, _BUSY_RETRY_SECONDS)

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


def idle_silence_check(*, owner: str, channel_id: int, imported_since: datetime, now: datetime) -> bool:
    """The listener's safety-net sync (the first over a relogin's connection) imported mail: if that mail came
    into INBOX unannounced while the IDLE stayed quiet for PUSH_SILENCE_MINUTES (the rule Gmail's watch and
    Graph's subscription share, services/push_silence.py), the server does not announce new mail: tell staff,
    once. The channel is polled as usual meanwhile (selectors.idle_healthy). Only INBOX counts: IDLE watches it
    alone, so mail a server-side rule files elsewhere says nothing (and Gmail, read through All Mail, is left
    to its watch)."""
    with transaction.atomic():
        channel = (
            Channel.objects.filter(pk=channel_id, idle_owner=owner)
            .select_for_update()
            .filter(idle_since__isnull=False, idle_silent_reported_at=None)
            .select_related("inbox")
            .first()
        )
        if channel is None or channel.idle_since is None:
            return False
        # Listened to since idle_since (kept across relogins): mail before it was nobody's to announce.
        quiet_since = max(channel.idle_announced_at or channel.idle_since, channel.idle_since)
        found = Message.objects.filter(channel=channel, imported_at__gte=imported_since, folder__name__iexact="INBOX")
        count = unannounced(found, quiet_since=quiet_since, now=now)
        if not count:
            return False
        Channel.objects.filter(pk=channel.pk).update(idle_silent_reported_at=now)
        report_silent(channel, IDLE_PUSH, quiet_since=quiet_since, count=count)
    return True


def in_mailbox(stack: ExitStack, work: Callable[[], T]) -> T:
    """`work` on a held connection; what it raises is thrown into the mailbox's context (whose exit logs out),
    which classifies it as it would during a sync."""
    try:
        return work()
    except BaseException:
        if not stack.__exit__(*sys.exc_info()):
            raise
        raise


def _inbox_uidnext(client: IMAPClient) -> int | None:
    return client.select_folder("INBOX", readonly=True).get(b"UIDNEXT")


class _OverConnection:
    """The sync operation for `run_check` on a connection already signed in and idling; what it got to."""

    def __init__(self, client: IMAPClient, stack: ExitStack, push: MailPath | None = None) -> None:
        self.client, self.stack, self.push = client, stack, push
        self.started = self.idling = self.moved = False

    def sync(self, channel: Channel) -> str:
        self.started = True
        done = in_mailbox(self.stack, lambda: self._work(channel))
        self.idling = True
        return done

    def _work(self, channel: Channel) -> str:
        client = self.client
        client.idle_done()
        before = _inbox_uidnext(client)
        done = operations.sync(channel, mailbox=lambda _: nullcontext(client), push=self.push)
        # Mail that reached INBOX after the import read it is announced to nobody: compare, and sync again.
        self.moved = _inbox_uidnext(client) != before
        client.idle()
        return done


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
