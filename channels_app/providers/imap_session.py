"""Opening an IMAP connection, signing in, and classifying what can go wrong on the wire.

The generic reading of answers follows RFC 3501 and the response codes of RFC 5530; a provider
that words its answers its own way (Gmail's [ALERT]s, Exchange's "not connected") reads them first
through `MailProvider.classify_imap_answer`. tests/test_imap_session.py holds the answers it is
tested on, and localprovider/imap_front/memory.py Dovecot's words for the ordinary cases.
"""

import imaplib
import logging
import re
import socket
import ssl
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress

from django.conf import settings
from django.views.decorators.debug import sensitive_variables
from imapclient import IMAPClient
from imapclient.exceptions import CapabilityError, IMAPClientError

from channels_app.providers import imap_network
from channels_app.providers.base import (
    AuthFailure,
    ConfigurationFailure,
    ImapEndpoint,
    ImapSecurity,
    PassingFailure,
    PolicyFailure,
    ProviderFailure,
    unrecognised,
)

logger = logging.getLogger(__name__)

Classifier = Callable[[str, bool], ProviderFailure | None]

# RFC 5530 response codes, by who can act on them.
_AUTH_CODES = ("AUTHENTICATIONFAILED", "AUTHORIZATIONFAILED", "EXPIRED")
_PASSING_CODES = ("UNAVAILABLE", "SERVERBUG", "INUSE", "LIMIT", "OVERQUOTA")
_POLICY_CODES = ("CONTACTADMIN",)
# The server takes passwords only over TLS: the channel's security must change.
_CONFIGURATION_CODES = ("PRIVACYREQUIRED",)
_PLAINTEXT_REFUSED = "The mail server accepts passwords only over an encrypted connection."
# Of the passing ones, those that say we are being limited rather than that the server is down.
_THROTTLING_CODES = ("INUSE", "LIMIT", "OVERQUOTA")
_CODE = re.compile(r"\[([A-Z][A-Z0-9-]*)[^\]]*\]")
# What imaplib and imapclient wrap around a server's answer: "select failed: ...",
# "SELECT command error: BAD [b'...']", a bytes repr, the status word.
_WRAPPING = (
    re.compile(r"^\w+ (?:failed|command error):\s*"),
    re.compile(r"^(?:NO|BAD)\s+"),
    re.compile(r"^\[?b?['\"]|['\"]\]?$"),
)


class LoginRefused(Exception):
    """The server answered our LOGIN/AUTHENTICATE with NO or BAD; `text` is its answer."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


def provider_words(text: str) -> str:
    """The human part of a server answer: without tag, status, response code and Gmail's "(Failure)"."""
    for pattern in _WRAPPING:
        text = pattern.sub("", text.strip())
    text = _CODE.sub("", text).replace("(Failure)", "")
    return " ".join(text.split())


def classify_answer(text: str, *, during_login: bool) -> ProviderFailure:
    """The generic reading of a NO/BAD answer (RFC 3501, RFC 5530)."""
    match = _CODE.search(text)
    code = match.group(1) if match else ""
    words = provider_words(text)
    if code in _AUTH_CODES:
        return AuthFailure("The mail server rejected our credentials.", code=f"[{code}]", provider_words=words)
    if code in _PASSING_CODES:
        return PassingFailure(
            "The mail server could not serve us right now.",
            code=f"[{code}]",
            provider_words=words,
            throttled=code in _THROTTLING_CODES,
        )
    if code in _CONFIGURATION_CODES:
        return ConfigurationFailure(_PLAINTEXT_REFUSED, code=f"[{code}]", provider_words=words)
    if code in _POLICY_CODES:
        return PolicyFailure(
            "The mail server's administrator has blocked this account.",
            admin_action="unblock the account for mail clients",
            code=f"[{code}]",
            provider_words=words,
        )
    if code:
        return unrecognised(f"[{code}]", words)
    # imaplib raises a tagged BAD as "<COMMAND> command error: BAD [...]" and a NO with the server's text alone.
    bad = "command error: BAD" in text or text.startswith("BAD")
    if during_login and not bad:
        # RFC 3501 6.2.3: a LOGIN answered NO without a code means the user name or password was rejected.
        return AuthFailure("The mail server rejected our credentials.", code="NO", provider_words=words)
    return unrecognised("BAD" if bad else "NO", words)


def classify_transport_error(exc: BaseException) -> ProviderFailure | None:
    """A passing failure for network and protocol trouble; None for errors that are not the server's."""
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
    return None


def has_control_characters(text: str) -> bool:
    """Whether `text` holds a control character: CR and LF end an IMAP command (a user name with them could
    smuggle in commands of its own), NUL ends strings. Nothing holding one may reach the wire."""
    return any(unicodedata.category(char) == "Cc" for char in text)


# Every frame below this one (imaplib's) holds the password in some form: hide them all in error reports.
@sensitive_variables()
def password_login(client: IMAPClient, username: str, password: str) -> None:
    """LOGIN, telling a refusal (NO/BAD) apart from a dropped connection (imaplib's abort is one of its
    errors, and imapclient would report both as a LoginError: a false "wrong password").

    Both arguments go as quoted strings (RFC 3501 9: a quoted string is any 7-bit text without CR and LF),
    a password with other characters as a literal of its UTF-8 bytes; imaplib itself would send the user
    name as it is and fail on a password that is not ASCII.
    """
    if has_control_characters(username) or has_control_characters(password) or not username.isascii():
        raise ConfigurationFailure("The IMAP user name or password holds characters that cannot be sent.")
    imap = client._imap
    if "LOGINDISABLED" in imap.capabilities:
        # RFC 3501 6.2.3: the client must not send LOGIN; the password would cross the wire for nothing.
        raise ConfigurationFailure(_PLAINTEXT_REFUSED, code="LOGINDISABLED")
    arguments = [imap._quote(username)]
    if password.isascii():
        arguments.append(imap._quote(password))
    else:
        imap.literal = password.encode()
    try:
        status, data = imap._simple_command("LOGIN", *arguments)
    except imaplib.IMAP4.abort:
        raise
    except imaplib.IMAP4.error as exc:
        raise LoginRefused(str(exc)) from None
    if status != "OK":
        raise LoginRefused(str(data[-1]))
    imap.state = "AUTH"


@sensitive_variables()
def xoauth2_login(client: IMAPClient, username: str, access_token: str) -> None:
    """SASL XOAUTH2. An error challenge (base64 JSON with a status) must be answered with an empty
    line, after which the server sends its final NO: https://developers.google.com/workspace/gmail/imap/xoauth2-protocol#error_response
    """
    initial = f"user={username}\x01auth=Bearer {access_token}\x01\x01".encode()

    def respond(challenge: bytes) -> bytes:
        return b"" if challenge else initial

    try:
        client._imap.authenticate("XOAUTH2", respond)
    except imaplib.IMAP4.abort:
        raise
    except imaplib.IMAP4.error as exc:
        raise LoginRefused(str(exc)) from None


@contextmanager
def imap_connection(
    endpoint: ImapEndpoint, login: Callable[[IMAPClient], object], classify: Classifier | None = None
) -> Iterator[IMAPClient]:
    """Connect, log in with `login`, yield, log out; every failure comes out classified.

    Connecting, the greeting, TLS and the login together must end within IMAP_LOGIN_DEADLINE_SECONDS.
    `classify` is the provider's own reading of answers, tried before the generic one.
    """
    client: IMAPClient | None = None
    # Until we send credentials nothing the server says is about them (a BYE greeting is not "wrong password").
    signing_in = logged_in = False
    deadline = imap_network.Deadline(settings.IMAP_LOGIN_DEADLINE_SECONDS)
    try:
        try:
            client = _connected(endpoint, deadline)
            signing_in = True
            login(client)
        finally:
            too_slow = deadline.cancel()
        if too_slow:
            raise TimeoutError("signing in outlasted its deadline")
        logged_in = True
        yield client
    except ProviderFailure as classified:
        logger.info("IMAP %s:%s failed: %s (%s)", endpoint.host, endpoint.port, classified.message, classified.kind)
        raise
    except LoginRefused as refused:
        raise _classified(endpoint, refused.text, during_login=True, classify=classify) from None
    except Exception as exc:
        if deadline.passed and not logged_in:
            # The timer shut the socket: whatever error that caused, the server was too slow.
            logger.info(
                "IMAP %s:%s failed: signing in took more than %ss (%s)",
                endpoint.host,
                endpoint.port,
                deadline.seconds,
                type(exc).__name__,
            )
            raise PassingFailure("The mail server did not answer in time.") from None
        if isinstance(exc, IMAPClientError | imaplib.IMAP4.error) and not isinstance(exc, imaplib.IMAP4.abort):
            if not signing_in:
                raise _turned_away(endpoint, str(exc)) from None
            raise _classified(endpoint, str(exc), during_login=not logged_in, classify=classify) from None
        failure = classify_transport_error(exc)
        if failure is None:
            raise
        if not logged_in and isinstance(exc, imaplib.IMAP4.abort):
            failure = PassingFailure("The connection to the mail server was lost while signing in.")
        logger.info("IMAP %s:%s failed: %s (%s)", endpoint.host, endpoint.port, failure.message, type(exc).__name__)
        raise failure from None
    finally:
        if client is not None:
            # The connection may already be gone; logging out is a courtesy.
            with suppress(Exception):
                client.logout()


def _connected(endpoint: ImapEndpoint, deadline: imap_network.Deadline) -> IMAPClient:
    """A client greeted by the server and, unless the endpoint says otherwise, encrypted; not logged in."""
    context = imap_network.tls_context()
    client = imap_network.pinned_client(endpoint, context, deadline)
    if endpoint.security is not ImapSecurity.STARTTLS:
        return client
    upgraded = False
    try:
        client.starttls(context)
        upgraded = True
    except CapabilityError:
        raise ConfigurationFailure("The mail server does not offer STARTTLS.") from None
    except (IMAPClientError, imaplib.IMAP4.error) as refused:
        if isinstance(refused, imaplib.IMAP4.abort):
            raise
        words = provider_words(str(refused))
        raise ConfigurationFailure("The mail server refused STARTTLS.", provider_words=words) from None
    finally:
        if not upgraded:
            with suppress(Exception):
                client.shutdown()
    return client


def _turned_away(endpoint: ImapEndpoint, text: str) -> ProviderFailure:
    """The server refused the connection before it saw any credentials (a BYE or NO greeting, RFC 3501
    7.1.5: often a server at its connection limit): read by its response code if it has one, passing if
    not, and never an answer about the credentials."""
    if _CODE.search(text):
        failure = classify_answer(text, during_login=False)
        if isinstance(failure, AuthFailure):
            failure = unrecognised(failure.code, failure.provider_words)
    else:
        failure = PassingFailure("The mail server turned the connection away.", provider_words=provider_words(text))
    logger.info("IMAP %s:%s turned us away: %s (%s)", endpoint.host, endpoint.port, failure.message, failure.code)
    return failure


def _classified(
    endpoint: ImapEndpoint, text: str, *, during_login: bool, classify: Classifier | None
) -> ProviderFailure:
    failure = (classify(text, during_login) if classify else None) or classify_answer(text, during_login=during_login)
    logger.info(
        "IMAP %s:%s answered %s: %s (%s)", endpoint.host, endpoint.port, failure.kind, failure.message, failure.code
    )
    return failure
