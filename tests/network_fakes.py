"""Listeners on loopback that misbehave the ways a mail server (or something that is not one) can.

Each runs in a background thread, counts the connections it accepts and keeps the bytes it was sent,
so a test can assert that nothing reached it.
"""

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any, Literal

import pytest

GREETING = b"* OK [CAPABILITY IMAP4rev1 LITERAL+ AUTH=PLAIN] Fake ready.\r\n"


@dataclass
class Listener:
    port: int
    stop: threading.Event = field(default_factory=threading.Event)
    accepted: int = 0
    received: bytearray = field(default_factory=bytearray)


Behaviour = Callable[[socket.socket, Listener], None]


@contextmanager
def listening(behaviour: Behaviour, port: int = 0) -> Iterator[Listener]:
    """`behaviour` for every connection to 127.0.0.1:`port` (0: any free port) until the block ends."""
    server = socket.create_server(("127.0.0.1", port))
    server.settimeout(0.05)
    listener = Listener(port=server.getsockname()[1])
    handlers: list[threading.Thread] = []

    def serve(conn: socket.socket) -> None:
        with conn, suppress(OSError):
            behaviour(conn, listener)

    def accept_loop() -> None:
        while not listener.stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            listener.accepted += 1
            thread = threading.Thread(target=serve, args=(conn,), daemon=True)
            handlers.append(thread)
            thread.start()

    acceptor = threading.Thread(target=accept_loop, daemon=True)
    acceptor.start()
    try:
        yield listener
    finally:
        listener.stop.set()
        acceptor.join(timeout=5)
        server.close()
        for thread in handlers:
            thread.join(timeout=5)


def closed_port() -> int:
    """A loopback port nobody listens on: connecting to it is refused."""
    with socket.create_server(("127.0.0.1", 0)) as probe:
        return int(probe.getsockname()[1])


def _read_until_stopped(conn: socket.socket, listener: Listener) -> None:
    conn.settimeout(0.05)
    while not listener.stop.is_set():
        try:
            data = conn.recv(4096)
        except TimeoutError:
            continue
        if not data:
            return
        listener.received += data


def record(conn: socket.socket, listener: Listener) -> None:
    """Greets as an IMAP server and keeps whatever is sent, answering nothing."""
    conn.sendall(GREETING)
    _read_until_stopped(conn, listener)


def stall(conn: socket.socket, listener: Listener) -> None:
    """Accepts and never says a word."""
    _read_until_stopped(conn, listener)


def close_at_once(conn: socket.socket, listener: Listener) -> None:
    """Accepts and hangs up."""


def garbage(conn: socket.socket, listener: Listener) -> None:
    """Answers with bytes that are neither IMAP nor TLS (an SSH banner), then waits."""
    conn.sendall(b"SSH-2.0-OpenSSH_9.6\r\n" + bytes(range(256)))
    _read_until_stopped(conn, listener)


def _dribble(conn: socket.socket, listener: Listener, line: bytes) -> None:
    for byte in line:
        if listener.stop.wait(0.05):
            return
        conn.sendall(bytes([byte]))


def dribble_slowly(conn: socket.socket, listener: Listener) -> None:
    """A greeting that never ends: a byte every second, so that no read waits long enough to time out."""
    conn.sendall(b"* OK ")
    while not listener.stop.wait(1):
        conn.sendall(b"x")


def dribble(conn: socket.socket, listener: Listener) -> None:
    """A greeting one byte at a time, a byte every 50 ms so that each read gets something; it hangs up
    after 200 bytes (10 s), unfinished."""
    _dribble(conn, listener, b"* OK " + b"x" * 195)


def _answer_commands(
    conn: socket.socket, listener: Listener, capabilities: bytes, *, login: Literal["hang up", "ignore", "accept"]
) -> None:
    """Greets and answers CAPABILITY and LOGOUT (imaplib asks for capabilities right after the greeting),
    keeping whatever is sent; a LOGIN (or AUTHENTICATE) is hung up on, left unanswered, or accepted; a SELECT
    is answered a byte every 50 ms and hung up on after 10 s."""
    conn.sendall(b"* OK [CAPABILITY " + capabilities + b"] Fake ready.\r\n")
    buffer = b""
    conn.settimeout(0.05)
    while not listener.stop.is_set():
        try:
            data = conn.recv(4096)
        except TimeoutError:
            continue
        if not data:
            return
        listener.received += data
        buffer += data
        while b"\r\n" in buffer:
            line, buffer = buffer.split(b"\r\n", 1)
            tag, _, rest = line.partition(b" ")
            command = rest.upper()
            signing_in = command.startswith((b"LOGIN", b"AUTHENTICATE"))
            if signing_in and login == "hang up":
                return
            if signing_in and login == "accept":
                conn.sendall(tag + b" OK Logged in\r\n")
            elif command.startswith((b"SELECT", b"EXAMINE")):
                _dribble(conn, listener, b"* OK " + b"x" * 195)
                return
            elif command.startswith(b"CAPABILITY"):
                conn.sendall(b"* CAPABILITY " + capabilities + b"\r\n" + tag + b" OK done\r\n")
            elif command.startswith(b"LOGOUT"):
                conn.sendall(b"* BYE bye\r\n" + tag + b" OK done\r\n")
                return


def drop_on_login(conn: socket.socket, listener: Listener) -> None:
    """Hangs up when the LOGIN (or AUTHENTICATE) comes."""
    _answer_commands(conn, listener, b"IMAP4rev1 LITERAL+ AUTH=PLAIN AUTH=XOAUTH2", login="hang up")


def dribble_after_login(conn: socket.socket, listener: Listener) -> None:
    """Takes any password, then answers the SELECT a byte at a time."""
    _answer_commands(conn, listener, b"IMAP4rev1 LITERAL+", login="accept")


def turn_away(conn: socket.socket, listener: Listener) -> None:
    """Greets with BYE, as a server at its connection limit does, and hangs up."""
    conn.sendall(b"* BYE Too many connections from your address, try again later\r\n")


def login_disabled(conn: socket.socket, listener: Listener) -> None:
    """A server that takes passwords only after STARTTLS (RFC 3501 LOGINDISABLED)."""
    _answer_commands(conn, listener, b"IMAP4rev1 STARTTLS LOGINDISABLED", login="ignore")


@pytest.fixture
def allow_port(settings: Any) -> Callable[[int], int]:
    """Lets the IMAP policy connect to a test listener's port (IMAP_ALLOWED_PORTS); returns the port."""

    def allow(port: int) -> int:
        settings.IMAP_ALLOWED_PORTS = [*settings.IMAP_ALLOWED_PORTS, port]
        return port

    return allow


@pytest.fixture
def connections(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every address a socket is asked to connect to in this test, none of them reached."""
    attempts: list[object] = []

    def connect(self: socket.socket, address: object) -> None:
        attempts.append(address)
        raise ConnectionRefusedError("no connections in this test")

    monkeypatch.setattr(socket.socket, "connect", connect)
    return attempts
