"""Opening an IMAP connection and classifying what can go wrong on the wire.

`../shared/testbed.md` lists what Dovecot and imapclient say in each case; this is
the one place that reads that text.
"""

import imaplib
import logging
import socket
import ssl
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress

from django.conf import settings
from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError, LoginError

from channels_app.providers.base import AuthFailure, ImapEndpoint, PassingFailure, ProviderFailure

logger = logging.getLogger(__name__)

# Response codes (RFC 5530) that mean "not now", as opposed to "not you".
_PASSING_LOGIN_CODES = ("[UNAVAILABLE]", "[SERVERBUG]", "[INUSE]", "[LIMIT]", "[CONTACTADMIN]")


def classify_login_error(exc: LoginError) -> ProviderFailure:
    text = str(exc)  # for password logins imapclient gives a bytes repr: match substrings only
    if any(code in text for code in _PASSING_LOGIN_CODES):
        return PassingFailure("The mail server could not check our credentials right now.")
    return AuthFailure("The mail server rejected our credentials.")


def classify_transport_error(exc: BaseException) -> ProviderFailure | None:
    """A passing failure for network and protocol trouble; None for errors that are not the server's."""
    if isinstance(exc, LoginError):
        return classify_login_error(exc)
    if isinstance(exc, socket.gaierror):
        return PassingFailure("The mail server's name could not be resolved.")
    if isinstance(exc, TimeoutError | socket.timeout):
        return PassingFailure("The mail server did not answer in time.")
    if isinstance(exc, ConnectionRefusedError):
        return PassingFailure("The mail server refused the connection.")
    if isinstance(exc, ssl.SSLError):
        return PassingFailure("The secure connection to the mail server failed.")
    if isinstance(exc, imaplib.IMAP4.abort | ConnectionError | OSError):
        return PassingFailure("The connection to the mail server was lost.")
    if isinstance(exc, IMAPClientError | imaplib.IMAP4.error):
        return PassingFailure("The mail server answered with an error.")
    return None


@contextmanager
def imap_connection(endpoint: ImapEndpoint, login: Callable[[IMAPClient], object]) -> Iterator[IMAPClient]:
    """Connect, log in with `login`, yield, log out; wire errors come out classified."""
    client: IMAPClient | None = None
    try:
        client = IMAPClient(endpoint.host, port=endpoint.port, ssl=endpoint.ssl, timeout=settings.IMAP_TIMEOUT_SECONDS)
        login(client)
        yield client
    except ProviderFailure:
        raise
    except Exception as exc:
        failure = classify_transport_error(exc)
        if failure is None:
            raise
        logger.info("IMAP %s:%s failed: %s (%s)", endpoint.host, endpoint.port, failure.message, type(exc).__name__)
        raise failure from None
    finally:
        if client is not None:
            # The connection may already be gone; logging out is a courtesy.
            with suppress(Exception):
                client.logout()
