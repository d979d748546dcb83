"""The generic reading of IMAP answers (RFC 3501, RFC 5530) and of network trouble, without a server;
what a password login sends, against the in-memory IMAP server."""

import imaplib
import socket
import ssl

import pytest

from channels_app.providers import (
    AuthFailure,
    ConfigurationFailure,
    Credentials,
    FailureKind,
    ImapEndpoint,
    ImapSecurity,
    PassingFailure,
    PolicyFailure,
    ProviderFailure,
    get_provider,
)
from channels_app.providers.imap_session import classify_answer, classify_transport_error, provider_words
from tests.network_fakes import dribble, drop_on_login, listening, login_disabled, turn_away


@pytest.mark.parametrize(
    ("text", "kind", "code"),
    [
        ("[AUTHENTICATIONFAILED] Authentication failed.", FailureKind.AUTH, "[AUTHENTICATIONFAILED]"),
        ("b'[AUTHENTICATIONFAILED] Authentication failed.'", FailureKind.AUTH, "[AUTHENTICATIONFAILED]"),
        ("[EXPIRED] Password expired.", FailureKind.AUTH, "[EXPIRED]"),
        ("b'Login failed.'", FailureKind.AUTH, "NO"),
        ("[UNAVAILABLE] Temporary authentication failure.", FailureKind.PASSING, "[UNAVAILABLE]"),
        ("[LIMIT] Too many connections.", FailureKind.PASSING, "[LIMIT]"),
        ("[CONTACTADMIN] Locked.", FailureKind.POLICY, "[CONTACTADMIN]"),
        ("[NEVERSEEN] Something.", FailureKind.PASSING, "[NEVERSEEN]"),
        ("LOGIN command error: BAD [b'Syntax error']", FailureKind.PASSING, "BAD"),
    ],
)
def test_login_answers_are_read_by_their_rfc_5530_codes(text, kind, code):
    failure = classify_answer(text, during_login=True)
    assert (failure.kind, failure.code) == (kind, code)


def test_an_unknown_answer_is_passing_and_marked_unrecognised():
    failure = classify_answer("[NEVERSEEN] Something.", during_login=True)
    assert isinstance(failure, PassingFailure) and failure.unrecognised


def test_a_refusal_after_login_without_a_code_is_unrecognised_not_an_auth_failure():
    failure = classify_answer("select failed: Mailbox is being moved", during_login=False)
    assert isinstance(failure, PassingFailure) and failure.unrecognised
    assert not isinstance(failure, AuthFailure | PolicyFailure)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("[ALERT] Too many simultaneous connections. (Failure)", "Too many simultaneous connections."),
        (
            "SELECT command error: BAD [b'User is authenticated but not connected.']",
            "User is authenticated but not connected.",
        ),
        (
            "fetch failed: [OVERQUOTA] Account exceeded command or bandwidth limits. (Failure)",
            "Account exceeded command or bandwidth limits.",
        ),
        ("b'[AUTHENTICATIONFAILED] Authentication failed.'", "Authentication failed."),
    ],
)
def test_provider_words_drop_the_wrapping_and_codes(text, words):
    assert provider_words(text) == words


@pytest.mark.parametrize(
    "error",
    [ConnectionRefusedError(), TimeoutError(), socket.gaierror(), ssl.SSLError(), imaplib.IMAP4.abort("EOF")],
)
def test_network_trouble_is_passing(error):
    assert isinstance(classify_transport_error(error), PassingFailure)


def test_errors_that_are_not_the_servers_are_left_alone():
    assert classify_transport_error(KeyError("bug")) is None


def _log_in(port: int, username: str, password: str) -> None:
    endpoint = ImapEndpoint("127.0.0.1", port, ImapSecurity.NONE, username)
    with get_provider("imap").open_mailbox(endpoint, Credentials(password=password)) as client:
        client.select_folder("INBOX", readonly=True)


@pytest.mark.parametrize(
    ("username", "password"),
    [
        ("me@example.test", ' spaces "quotes" and \\backslashes\\ '),
        ("first last", "pässwörd ✓"),
    ],
)
def test_user_name_and_password_reach_the_server_exactly_as_given(memory_imap, username, password):
    _log_in(memory_imap.port, username, password)
    assert memory_imap.logins == [(username, password)]


@pytest.mark.parametrize(
    ("username", "password"),
    [("user\r\nA1 DELETE INBOX", "pw"), ("user", "pw\r\nA1 DELETE INBOX"), ("user\x00", "pw"), ("jürgen", "pw")],
)
def test_a_login_that_cannot_be_sent_safely_is_not_sent(memory_imap, username, password):
    with pytest.raises(ConfigurationFailure):
        _log_in(memory_imap.port, username, password)
    assert memory_imap.logins == []


def test_a_server_that_dribbles_its_greeting_is_cut_off_at_the_sign_in_deadline(settings, allow_port, caplog):
    """Each read gets a byte every 50 ms, so the read timeout alone waits for all 200 of them (10 s)."""
    settings.IMAP_TIMEOUT_SECONDS = 5
    settings.IMAP_LOGIN_DEADLINE_SECONDS = 0.5
    with listening(dribble) as server, pytest.raises(PassingFailure, match="did not answer in time"):
        _log_in(allow_port(server.port), "me", "pw")
    assert "signing in took more than 0.5s" in caplog.text


@pytest.mark.parametrize(
    ("behaviour", "message"),
    [
        (drop_on_login, "The connection to the mail server was lost while signing in."),
        (turn_away, "The mail server turned the connection away."),
    ],
    ids=["dropped_at_login", "bye_greeting"],
)
@pytest.mark.parametrize("kind", ["imap", "local"])  # LOGIN with a password, AUTHENTICATE XOAUTH2
def test_a_connection_lost_or_turned_away_before_an_answer_to_login_is_never_an_auth_failure(
    allow_port, behaviour, message, kind
):
    with listening(behaviour) as server:
        endpoint = ImapEndpoint("127.0.0.1", allow_port(server.port), ImapSecurity.NONE, "me@example.test")
        credentials = Credentials(password="pw", access_token="token")
        with pytest.raises(ProviderFailure) as raised, get_provider(kind).open_mailbox(endpoint, credentials):
            pass
    assert isinstance(raised.value, PassingFailure)
    assert raised.value.message == message


def test_plaintext_refused_at_login_is_for_whoever_set_the_channel_up():
    failure = classify_answer(
        "[PRIVACYREQUIRED] Plaintext authentication disallowed on non-secure connections.", during_login=True
    )
    assert isinstance(failure, ConfigurationFailure) and failure.code == "[PRIVACYREQUIRED]"


def test_no_password_is_sent_to_a_server_that_disables_login_without_tls(allow_port):
    with (
        listening(login_disabled) as server,
        pytest.raises(ConfigurationFailure, match="only over an encrypted connection"),
    ):
        _log_in(allow_port(server.port), "me", "secret-password")
    assert b"secret-password" not in server.received
    assert b"LOGIN" not in server.received
