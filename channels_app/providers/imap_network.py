"""Where we may open an IMAP connection, and the connection itself, made to the address we checked.

A server someone names on the Add channel form could be anything our machines can reach: the cloud's
metadata service, a database on the private network, a port on loopback. So the host is resolved
once, every address it resolves to must be public (or on a network staff list in
IMAP_ALLOWED_NETWORKS), the port must be an IMAP port (IMAP_ALLOWED_PORTS), and the socket is opened
to those very addresses: no second lookup that a short-lived DNS answer could point elsewhere. TLS
still verifies the certificate against the host name. The OAuth providers' servers are staff's
configuration and skip the checks, not the pinning.
"""

import functools
import imaplib
import ipaddress
import logging
import re
import socket
import ssl
import threading
import time
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from imapclient import IMAPClient
from imapclient.imapclient import join_message_ids, seq_to_parenstr_upper
from imapclient.util import to_ints

from channels_app.providers.base import ConfigurationFailure, ImapEndpoint, ImapSecurity
from channels_app.providers.imap_fetch import read_fetch

logger = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_LABEL = re.compile(r"(?!-)[a-z0-9_-]{1,63}(?<!-)")
_BAD_HOST = "Enter the server's name (such as imap.example.com) or its IP address."
# RFC 6052: IPv6 addresses a NAT64 gateway turns into the IPv4 address in their last 32 bits.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def imap_host(value: str) -> str:
    """The host as we connect to it: an IP address, or a DNS name in its ASCII (IDNA) form.

    ValueError for anything else, so that no socket or codec ever sees a name it would choke on (a label
    longer than 63 characters makes the idna codec raise a UnicodeError).
    """
    host = value.strip()
    literal = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        return str(ipaddress.ip_address(literal))
    except ValueError:
        pass
    # A fully qualified name may end with the root's dot.
    name = host.removesuffix(".")
    try:
        ascii_name = name.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise ValueError(_BAD_HOST) from None
    if len(ascii_name) > 253 or not all(_LABEL.fullmatch(label) for label in ascii_name.split(".")):
        raise ValueError(_BAD_HOST)
    return ascii_name


@functools.cache
def tls_context() -> ssl.SSLContext:
    """Certificates verified against the host name the person typed, whatever address we connect to.

    One context for every connection: each loads the system's CA certificates (most of a megabyte),
    and every connection keeps its context, so the IDLE listener's 1,000 held connections would hold
    1,000 copies. An SSLContext is safe to share between threads and is not changed after this."""
    return ssl.create_default_context()


def _public(address: IPAddress) -> bool:
    if address.is_loopback or address.is_private or address.is_link_local or address.is_multicast:
        return False
    if address.is_reserved or address.is_unspecified or not address.is_global:
        return False
    if isinstance(address, ipaddress.IPv6Address):
        # IPv6 addresses that carry an IPv4 one are as public as that one.
        embedded = address.sixtofour or (
            ipaddress.IPv4Address(int(address) & 0xFFFFFFFF) if address in _NAT64 else None
        )
        return embedded is None or _public(embedded)
    return True


def address_allowed(address: IPAddress) -> bool:
    """Public addresses, and those on a network staff allow (IMAP_ALLOWED_NETWORKS)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    if any(address in network for network in settings.IMAP_ALLOWED_NETWORKS):
        return True
    return _public(address)


@dataclass(frozen=True)
class Destination:
    """One resolved address of the server, as getaddrinfo gave it."""

    family: socket.AddressFamily
    sockaddr: Any


def resolve(endpoint: ImapEndpoint) -> list[Destination]:
    """The server's addresses, checked unless staff configured the server; one lookup for the whole connection.

    Raises socket.gaierror when the name does not resolve, ConfigurationFailure when the port or an
    address is not allowed.
    """
    checked = not endpoint.staff_configured
    if checked and endpoint.port not in settings.IMAP_ALLOWED_PORTS:
        logger.warning("IMAP %s:%s refused: the port is not allowed", endpoint.host, endpoint.port)
        raise ConfigurationFailure("The mail server's port is not one we connect to.")
    found = socket.getaddrinfo(endpoint.host, endpoint.port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    destinations = [Destination(family, sockaddr) for family, _type, _proto, _name, sockaddr in found]
    if checked:
        refused = [d.sockaddr[0] for d in destinations if not address_allowed(ipaddress.ip_address(d.sockaddr[0]))]
        if refused:
            # Only staff see the address: a customer must not learn what our resolver knows.
            logger.warning("IMAP %s:%s refused: resolves to %s", endpoint.host, endpoint.port, ", ".join(refused))
            raise ConfigurationFailure("The mail server's address is not one we connect to.")
    return destinations


class Deadline:
    """One limit for connecting, the greeting, TLS and the login together.

    A timeout bounds each read, but a server that sends a byte just before every timeout would hold a
    web request (or a worker) as long as it likes: when the limit passes, a timer shuts down the sockets
    being watched, and whatever read is waiting ends at once.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._ends = time.monotonic() + seconds
        self._lock = threading.Lock()
        # Duplicates of the watched sockets: shutting one down ends the connection whatever object
        # (plain, TLS, after STARTTLS) imaplib holds by then.
        self._handles: list[socket.socket] = []
        self.passed = False
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def remaining(self) -> float:
        return max(0.0, self._ends - time.monotonic())

    def watch(self, sock: socket.socket) -> None:
        # fromfd duplicates the descriptor; a TLS socket refuses dup() but shares the connection all the same.
        handle = socket.fromfd(sock.fileno(), sock.family, sock.type)
        with self._lock:
            self._handles.append(handle)
            if self.passed:
                self._shut(handle)

    def cancel(self) -> bool:
        """Stop watching; whether the deadline had already passed."""
        self._timer.cancel()
        with self._lock:
            for handle in self._handles:
                handle.close()
            self._handles.clear()
            return self.passed

    def _expire(self) -> None:
        with self._lock:
            self.passed = True
            for handle in self._handles:
                self._shut(handle)

    @staticmethod
    def _shut(handle: socket.socket) -> None:
        with suppress(OSError):
            handle.shutdown(socket.SHUT_RDWR)


def _connect(destinations: list[Destination], timeout: float, deadline: Deadline) -> socket.socket:
    """A TCP connection to the first destination that answers, like socket.create_connection, watched by
    the deadline from its first moment."""
    error: OSError = OSError("no address to connect to")
    for destination in destinations:
        remaining = deadline.remaining()
        if not remaining:
            raise TimeoutError("the deadline for signing in passed while connecting")
        sock = socket.socket(destination.family, socket.SOCK_STREAM)
        try:
            sock.settimeout(min(timeout, remaining))
            sock.connect(destination.sockaddr)
            sock.settimeout(timeout)
            deadline.watch(sock)
        except OSError as exc:
            sock.close()
            error = exc
            continue
        return sock
    raise error


class _PinnedIMAP4(imaplib.IMAP4):
    """imaplib's IMAP4 on a socket to addresses resolved and checked beforehand; TLS from the first byte
    when given a context, verified against the host name."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        destinations: list[Destination],
        deadline: Deadline,
        context: ssl.SSLContext | None,
        timeout: float,
    ) -> None:
        self._destinations = destinations
        self._deadline = deadline
        self._context = context
        super().__init__(host, port, timeout)

    def _create_socket(self, timeout: float | None) -> socket.socket:
        sock = _connect(self._destinations, timeout or settings.IMAP_TIMEOUT_SECONDS, self._deadline)
        if self._context is None:
            return sock
        try:
            return self._context.wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise


class _PinnedIMAPClient(IMAPClient):
    def __init__(
        self, endpoint: ImapEndpoint, destinations: list[Destination], deadline: Deadline, context: ssl.SSLContext
    ) -> None:
        self._destinations = destinations
        self._deadline = deadline
        super().__init__(
            endpoint.host,
            port=endpoint.port,
            ssl=endpoint.security is ImapSecurity.TLS,
            ssl_context=context,
            timeout=settings.IMAP_TIMEOUT_SECONDS,
        )
        # IMAPClient turns imaplib's debug level to 5 so that its logger can see the protocol; at that level
        # imaplib formats the repr of every fetched message twice (imaplib.IMAP4._append_untagged and
        # _untagged_response), whether or not anything logs it: ~30 us of CPU per 3 KB message, 40 % of a
        # fetch (bench/RESULTS.md). We never log the protocol (it carries mail and credentials).
        self._imap.debug = 0

    def fetch(self, messages: Any, data: Any, modifiers: Any = None) -> dict[int, dict[bytes, Any]]:
        """IMAPClient.fetch (imapclient 4.1) with the answer read by imap_fetch.read_fetch, which takes
        an import's usual answer at a fraction of the cost and leaves every other to imapclient."""
        if not messages or not self.use_uid:
            return super().fetch(messages, data, modifiers)
        args = ["FETCH", join_message_ids(messages), seq_to_parenstr_upper(data)]
        if modifiers:
            args.append(seq_to_parenstr_upper(modifiers))
        tag = self._imap._command("UID", *args)
        typ, answer = self._imap._command_complete("FETCH", tag)
        self._checkok("fetch", typ, answer)
        typ, answer = self._imap._untagged_response(typ, answer, "FETCH")
        response = read_fetch(answer, normalise_times=self.normalise_times)
        # As IMAPClient.fetch: unsolicited answers about other messages are dropped.
        return {uid: response[uid] for uid in to_ints(messages) if uid in response}

    def _create_IMAP4(self) -> imaplib.IMAP4:
        return _PinnedIMAP4(
            self.host,
            self.port,
            destinations=self._destinations,
            deadline=self._deadline,
            context=self.ssl_context if self.ssl else None,
            timeout=self._timeout.connect,
        )


def pinned_client(endpoint: ImapEndpoint, context: ssl.SSLContext, deadline: Deadline) -> IMAPClient:
    """A client connected to the endpoint's checked addresses and greeted; TLS already up if the endpoint
    asks for it from the first byte; its socket watched by `deadline`. Raises what resolve() and the
    socket raise."""
    return _PinnedIMAPClient(endpoint, resolve(endpoint), deadline, context)
