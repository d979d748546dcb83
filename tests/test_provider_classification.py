"""What each wire error means, without a server: the text the provider layer alone reads."""

import imaplib
import socket

import pytest
import requests
from imapclient.exceptions import LoginError
from oauthlib.oauth2.rfc6749 import errors as oauth_errors

from channels_app.providers import AuthFailure, ConfigurationFailure, PassingFailure
from channels_app.providers.imap_session import classify_transport_error
from channels_app.providers.oauth import classify_oauth_error, jwt_claims


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (LoginError("[AUTHENTICATIONFAILED] Authentication failed."), AuthFailure),
        (LoginError("b'[AUTHENTICATIONFAILED] Authentication failed.'"), AuthFailure),
        (LoginError("[UNAVAILABLE] Temporary authentication failure."), PassingFailure),
        (ConnectionRefusedError(), PassingFailure),
        (TimeoutError(), PassingFailure),
        (socket.gaierror(), PassingFailure),
        (imaplib.IMAP4.abort("socket error: EOF"), PassingFailure),
    ],
)
def test_imap_errors_are_classified(error, expected):
    assert isinstance(classify_transport_error(error), expected)


def test_errors_that_are_not_the_servers_are_left_alone():
    assert classify_transport_error(KeyError("bug")) is None


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (oauth_errors.InvalidGrantError(), AuthFailure),
        (oauth_errors.InvalidClientError(), ConfigurationFailure),
        (oauth_errors.UnauthorizedClientError(), ConfigurationFailure),
        (oauth_errors.ServerError(), PassingFailure),
        (oauth_errors.TemporarilyUnavailableError(), PassingFailure),
        (oauth_errors.MissingTokenError(), PassingFailure),
        (requests.ConnectionError(), PassingFailure),
        (requests.Timeout(), PassingFailure),
    ],
)
def test_token_endpoint_errors_are_classified(error, expected):
    assert isinstance(classify_oauth_error(error), expected)


def test_failure_messages_never_carry_the_wire_text():
    failure = classify_oauth_error(oauth_errors.InvalidGrantError(description="token RT-secret-123 revoked"))
    assert "RT-secret" not in str(failure)


def test_jwt_claims_reads_the_payload_and_survives_garbage():
    token = "eyJhbGciOiJub25lIn0.eyJlbWFpbCI6ImFAYi5jIn0.sig"
    assert jwt_claims(token) == {"email": "a@b.c"}
    assert jwt_claims("not-a-jwt") == {}


def test_microsoft_reads_the_account_from_the_id_token_without_a_network_call(settings):
    import base64
    import json

    from channels_app.providers import Credentials, get_provider

    claims = base64.urlsafe_b64encode(json.dumps({"preferred_username": "Support@Contoso.test"}).encode()).decode()
    settings.MAIL_PROVIDERS = {
        **settings.MAIL_PROVIDERS,
        "microsoft": {**settings.MAIL_PROVIDERS["microsoft"], "USERINFO_URL": "http://0.0.0.0:1/"},
    }
    credentials = Credentials(access_token="at", id_token=f"e30.{claims.rstrip('=')}.sig")
    assert get_provider("microsoft").account_address(credentials) == "support@contoso.test"
