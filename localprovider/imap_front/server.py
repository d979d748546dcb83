"""The IMAP front: a loopback proxy before Dovecot that answers as a mailbox's persona says.

Until a login succeeds the front reads every client command itself (literals included) and relays it;
a login (LOGIN, AUTHENTICATE PLAIN / XOAUTH2 / OAUTHBEARER) is looked up in the mailbox's state first:
a forced "login" answer is given without asking Dovecot, a refusal by Dovecot is reworded as the
persona's (Google's or Microsoft's), and a forced "after_login" or "fetch" answer replaces the replies to
the commands that follow. A login with nothing forced turns the connection into a plain byte relay.
A bearer login naming a shared mailbox with a delegate's token is opened for the delegate, one naming a mailbox
with an application's token for the application Exchange gave FullAccess (delegation.py).

With `upstream=None` the front serves an in-memory mailbox instead of Dovecot (see memory.py), through
the very same code, so the recorded answers can be replayed on machines without Dovecot.
"""

import asyncio
import logging
import socket
import threading
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any, TypeVar

from localprovider.imap_front.answers import CHALLENGE_MECHANISMS, ImapAnswer, forced_answer, refusal_answer
from localprovider.imap_front.delegation import Delegation
from localprovider.imap_front.memory import MECHANISMS, InMemoryImap, Refuses, never_refuse
from localprovider.imap_front.wire import (
    STREAM_LIMIT,
    Command,
    SaslCredentials,
    decode_sasl,
    is_continuation,
    read_command,
    read_line,
    read_response,
    tagged_status,
)
from localprovider.personas import MailboxState

logger = logging.getLogger("localprovider.imap_front")

StateFor = Callable[[str], MailboxState]
"""The state of the mailbox a login names (read on every login, so a change applies to the next one)."""

_T = TypeVar("_T")
_ABORTED = b"BAD Authentication aborted by client."
_INVALID = b"BAD Error in IMAP command received by server."
_FETCHES = ("FETCH", "UID FETCH")
_RELAY_CHUNK = 1 << 18


class ImapFront:
    """The proxy; one instance serves any number of connections (see `start` and `running`)."""

    def __init__(
        self,
        *,
        upstream: tuple[str, int] | None,
        state_for: StateFor,
        refuses: Refuses = never_refuse,
        delegation: Delegation | None = None,
    ) -> None:
        """`upstream`: Dovecot's (host, port), or None for the in-memory mailbox; `refuses(user, secret)`:
        which logins the in-memory mailbox refuses, as Dovecot refuses a wrong password or a revoked token;
        `delegation`: how shared mailboxes are opened for their delegates (None: never)."""
        self.upstream = upstream
        self.state_for = state_for
        self.refuses = refuses
        self.delegation = delegation
        self._connections: set[asyncio.Task[None]] = set()

    @property
    def open_connections(self) -> int:
        return len(self._connections)

    async def start(self, host: str, port: int) -> asyncio.Server:
        return await asyncio.start_server(self._accept, host, port, limit=STREAM_LIMIT, backlog=512)

    async def close(self, server: asyncio.Server) -> None:
        """Stops listening and ends every open connection."""
        server.close()
        await server.wait_closed()
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)

    @contextmanager
    def running(self, host: str = "127.0.0.1", port: int = 0) -> Iterator[int]:
        """Runs the front on its own event loop in a background thread; yields the port it listens on."""
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="imap-front", daemon=True)
        thread.start()
        try:
            server = asyncio.run_coroutine_threadsafe(self.start(host, port), loop).result(timeout=10)
            try:
                yield server.sockets[0].getsockname()[1]
            finally:
                asyncio.run_coroutine_threadsafe(self.close(server), loop).result(timeout=10)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=10)
            loop.close()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            await _Connection(self, reader, writer).run()
        except asyncio.CancelledError:
            pass  # `close` ended it; asyncio's own callback would report a cancelled connection task as an error
        finally:
            self._connections.discard(task)


@dataclass(frozen=True)
class _LoggedIn:
    """A login the upstream accepted, and the answer (if any) forced on what follows it."""

    answer: ImapAnswer | None


class _Connection:
    def __init__(self, front: ImapFront, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.front = front
        self.client_reader, self.client_writer = reader, writer
        self.upstream_reader: asyncio.StreamReader | None = None
        self.upstream_writer: asyncio.StreamWriter | None = None
        self._next_response: asyncio.Task[bytes] | None = None  # an upstream read begun while the client was awaited
        self._in_memory: asyncio.Task[None] | None = None

    @property
    def _up(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        assert self.upstream_reader is not None and self.upstream_writer is not None
        return self.upstream_reader, self.upstream_writer

    async def run(self) -> None:
        try:
            if not await self._open_upstream():
                return
            self.client_writer.write(await read_response(self._up[0]))  # the greeting
            await self.client_writer.drain()
            logged_in = await self._until_logged_in()
            if logged_in is None:
                return
            if logged_in.answer is None:
                await self._relay_bytes()
            else:
                await self._answer_commands(logged_in.answer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # one side left: the other is closed below
        except Exception:
            logger.exception("IMAP front connection failed")
        finally:
            await self._close()

    async def _open_upstream(self) -> bool:
        if self.front.upstream is None:
            ours, theirs = socket.socketpair()
            self.upstream_reader, self.upstream_writer = await asyncio.open_connection(sock=ours, limit=STREAM_LIMIT)
            reader, writer = await asyncio.open_connection(sock=theirs, limit=STREAM_LIMIT)
            self._in_memory = asyncio.create_task(InMemoryImap(reader, writer, self.front.refuses).serve())
            return True
        host, port = self.front.upstream
        try:
            self.upstream_reader, self.upstream_writer = await asyncio.open_connection(host, port, limit=STREAM_LIMIT)
        except OSError as e:
            logger.warning("Dovecot at %s:%d does not answer (%s); closing the client's connection", host, port, e)
            return False
        return True

    async def _close(self) -> None:
        writers = [w for w in (self.client_writer, self.upstream_writer) if w is not None]
        for writer in writers:
            writer.close()
        for task in (self._next_response, self._in_memory):
            if task is not None:
                _discard(task)
                await asyncio.gather(task, return_exceptions=True)
        for writer in writers:
            with suppress(Exception):
                await writer.wait_closed()

    def _send(self, data: bytes) -> None:
        self.client_writer.write(data)

    async def _from_client(self, reading: Coroutine[Any, Any, _T]) -> _T:
        """Waits for the client; meanwhile relays what the upstream says unprompted (a BYE before it
        closes), and ends the connection when the upstream does."""
        client = asyncio.ensure_future(reading)
        try:
            while True:
                if self._next_response is None:
                    self._next_response = asyncio.ensure_future(read_response(self._up[0]))
                await asyncio.wait({client, self._next_response}, return_when=asyncio.FIRST_COMPLETED)
                if client.done():
                    return client.result()
                response, self._next_response = self._next_response.result(), None
                self._send(response)
                await self.client_writer.drain()
        finally:
            _discard(client)

    async def _next_command(self) -> Command | None:
        """The client's next command with a tag and a name; None once it closed the connection."""
        while True:
            command = await self._from_client(read_command(self.client_reader, self.client_writer))
            if command is None or command.name:
                return command
            self._send(b"* " + _INVALID + b"\r\n")  # as Dovecot answers it, untagged: there is no tag to use

    async def _from_upstream(self) -> bytes:
        pending, self._next_response = self._next_response, None
        return await (pending or read_response(self._up[0]))

    async def _relay(self, command: Command) -> str:
        """Sends `command` upstream and relays the exchange back to its tagged answer; returns its status."""
        self._up[1].write(command.wire)
        while True:
            response = await self._from_upstream()
            self._send(response)
            await self.client_writer.drain()
            if is_continuation(response):
                self._up[1].write(await self._from_client(read_line(self.client_reader)) + b"\r\n")
                continue
            status = tagged_status(response, command.tag)
            if status is not None:
                return status

    async def _until_logged_in(self) -> _LoggedIn | None:
        """Serves the client until a login succeeds; None if it logged out or left first."""
        while True:
            command = await self._next_command()
            if command is None:
                return None
            arguments = command.arguments
            mechanism = arguments[0].decode("ascii", "replace").upper() if arguments else ""
            if command.name == "LOGIN" and len(arguments) == 2:
                logged_in = await self._log_in(command, arguments[0].decode("utf-8", "replace"), None, command, None)
            elif command.name == "AUTHENTICATE" and mechanism in MECHANISMS and len(arguments) in (1, 2):
                if len(arguments) == 2:
                    initial = arguments[1]
                else:  # imaplib sends no initial response: ask for it, as Dovecot would
                    self._send(b"+ \r\n")
                    await self.client_writer.drain()
                    initial = await self._from_client(read_line(self.client_reader))
                    if initial == b"*":
                        self._send(command.tag + b" " + _ABORTED + b"\r\n")
                        continue
                credentials: SaslCredentials | None = decode_sasl(mechanism, initial)
                with_initial = Command((command.tag + b" AUTHENTICATE " + mechanism.encode() + b" " + initial,))
                user = credentials.user if credentials else None
                logged_in = await self._log_in(command, user, mechanism, with_initial, credentials)
            else:
                status = await self._relay(command)
                if command.name == "LOGOUT":
                    return None
                if command.name == "AUTHENTICATE" and status == "OK":
                    return _LoggedIn(answer=None)  # a mechanism the front does not read: as it is
                continue
            if logged_in is not None:
                return logged_in

    def _state(self, user: str | None) -> MailboxState:
        if not user:
            return MailboxState()
        try:
            return self.front.state_for(user)
        except ValueError:  # not a mailbox address the state can name
            return MailboxState()

    async def _log_in(
        self,
        command: Command,
        user: str | None,
        mechanism: str | None,
        upstream_command: Command,
        credentials: SaslCredentials | None,
    ) -> _LoggedIn | None:
        """One login attempt: the forced answer, or the upstream's verdict in the persona's words."""
        tag, state = command.tag, self._state(user)
        how = f"AUTHENTICATE {mechanism}" if mechanism else "LOGIN"
        forced = forced_answer(state)
        if forced is not None and forced.phase == "login":
            logger.info("%s %s: forced %s answer %s: %s", how, user, state.persona, forced.name, forced.reply.decode())
            await self._answer(tag, forced, mechanism)
            return None
        delegation = self.front.delegation
        if delegation is not None and user and credentials is not None and mechanism in CHALLENGE_MECHANISMS:
            opener = await asyncio.to_thread(delegation.opener_of, state, user, credentials.secret)
            if opener is not None:
                logger.info("%s %s: opened for %s", how, user, opener)
                upstream_command = delegation.master_login(tag, user)
        refusal = refusal_answer(state)
        self._up[1].write(upstream_command.wire)
        while True:
            response = await self._from_upstream()
            if is_continuation(response):
                if refusal is not None:  # Dovecot's own error challenge: answered here, the persona has its own
                    self._up[1].write(b"\r\n")
                else:
                    self._send(response)
                    await self.client_writer.drain()
                    self._up[1].write(await self._from_client(read_line(self.client_reader)) + b"\r\n")
                continue
            status = tagged_status(response, tag)
            if status is None:  # untagged, such as the CAPABILITY Dovecot sends before "Logged in"
                self._send(response)
                continue
            if status == "OK":
                self._send(response)
                await self.client_writer.drain()
                if forced is not None:
                    logger.info("%s %s: logged in, then forced %s answer %s", how, user, state.persona, forced.name)
                return _LoggedIn(answer=forced)
            # Only a refusal of the credentials is reworded; "not now" ([UNAVAILABLE]: the OAuth server is
            # down) stays the server's own answer, as the real providers' temporary failures do.
            if refusal is not None and status == "NO" and b"[AUTHENTICATIONFAILED]" in response:
                logger.info("%s %s: refused, in %s's words: %s", how, user, state.persona, refusal.reply.decode())
                await self._answer(tag, refusal, mechanism)
            else:
                words = response.split(b" ", 1)[1].decode("utf-8", "replace").strip()
                logger.info("%s %s: refused, in the server's words: %s", how, user, words)
                self._send(response)
                await self.client_writer.drain()
            return None

    async def _answer(self, tag: bytes, answer: ImapAnswer, mechanism: str | None) -> None:
        """A recorded answer: its challenge first where it has one (the client answers with a line, an
        empty one as Google documents), then the tagged reply."""
        challenge = answer.challenge_for(mechanism)
        if challenge is not None:
            self._send(challenge)
            await self.client_writer.drain()
            await self._from_client(read_line(self.client_reader))
        self._send(tag + b" " + answer.reply + b"\r\n")
        await self.client_writer.drain()

    async def _answer_commands(self, answer: ImapAnswer) -> None:
        """After a login: the forced reply to every command ("after_login") or to every fetch ("fetch");
        the rest goes upstream. LOGOUT always does, so it ends as usual."""
        while True:
            command = await self._next_command()
            if command is None:
                return
            forced = command.name != "LOGOUT" if answer.phase == "after_login" else command.name in _FETCHES
            if forced:
                self._send(command.tag + b" " + answer.reply + b"\r\n")
                await self.client_writer.drain()
                continue
            await self._relay(command)
            if command.name == "LOGOUT":
                return

    async def _relay_bytes(self) -> None:
        """Both ways until either side closes: the path whole mailboxes take."""
        assert self._next_response is None
        reader, writer = self._up
        pumps = [
            asyncio.ensure_future(_pipe(self.client_reader, writer)),
            asyncio.ensure_future(_pipe(reader, self.client_writer)),
        ]
        try:
            await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for pump in pumps:
                pump.cancel()
            await asyncio.gather(*pumps, return_exceptions=True)


def _discard(task: asyncio.Future[Any]) -> None:
    """Cancels `task`, or takes its exception if it has one, so asyncio does not report it as lost."""
    if not task.done():
        task.cancel()
    elif not task.cancelled():
        task.exception()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(_RELAY_CHUNK):
        writer.write(data)
        await writer.drain()
