"""The contract every provider module keeps, run against the real local provider.

Each OAuth module (gmail, microsoft, local) is pointed at the local OAuth server
and Dovecot, exactly as settings would point it at a stand-in; the password
module logs in to Dovecot's password users.
"""

import dataclasses
from urllib.parse import parse_qs, urlparse

import pytest
from django.conf import settings

from channels_app.providers import (
    PROVIDERS,
    AuthFailure,
    ConfigurationFailure,
    Credentials,
    ImapEndpoint,
    PassingFailure,
)
from channels_app.providers.oauth import OAuthConfig, OAuthProvider
from localprovider import browser, control

pytestmark = pytest.mark.local_provider

OAUTH_KINDS = [kind for kind, cls in PROVIDERS.items() if issubclass(cls, OAuthProvider)]
REDIRECT_URI = "http://127.0.0.1/oauth/callback/"
VERIFIER = "contract-verifier-" + "x" * 40


def _provider(kind: str, **overrides) -> OAuthProvider:
    """The module `kind`, with the local server's endpoints and the module's own authorize parameters."""
    local = OAuthConfig.from_settings(settings.MAIL_PROVIDERS["local"])
    own = settings.MAIL_PROVIDERS.get(kind, settings.MAIL_PROVIDERS["local"])["AUTHORIZE_PARAMS"]
    config = dataclasses.replace(local, authorize_params=dict(own), **overrides)
    return PROVIDERS[kind](config)  # type: ignore[call-arg]


def _connect(provider: OAuthProvider, mailbox) -> Credentials:
    url = provider.authorization_url(
        redirect_uri=REDIRECT_URI, state="contract-state", code_verifier=VERIFIER, login_hint=mailbox.address
    )
    query = browser.callback_query(browser.authorize_as(url, mailbox.address, mailbox.password))
    assert query["state"] == "contract-state"
    return provider.exchange_code(code=query["code"], redirect_uri=REDIRECT_URI, code_verifier=VERIFIER)


def _select_inbox(provider, endpoint: ImapEndpoint, credentials: Credentials) -> int:
    with provider.open_mailbox(endpoint, credentials) as client:
        return client.select_folder("INBOX", readonly=True)[b"EXISTS"]


@pytest.fixture(params=OAUTH_KINDS)
def oauth_kind(request) -> str:
    return request.param


def test_authorization_url_carries_pkce_state_and_login_hint(oauth_kind):
    url = _provider(oauth_kind).authorization_url(
        redirect_uri=REDIRECT_URI, state="st", code_verifier=VERIFIER, login_hint="a@acme.test"
    )
    query = parse_qs(urlparse(url).query)
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"][0] != VERIFIER
    assert query["state"] == ["st"] and query["login_hint"] == ["a@acme.test"]


def test_round_trip_gives_tokens_that_open_the_mailbox_of_the_right_account(oauth_kind, make_mailbox, local_provider):
    mailbox = make_mailbox()
    control.append_messages(local_provider, mailbox.address, [control.make_message(recipient=mailbox.address)])
    provider = _provider(oauth_kind)
    credentials = _connect(provider, mailbox)
    assert credentials.refresh_token and credentials.expires_at is not None
    assert provider.account_address(credentials) == mailbox.address
    assert _select_inbox(provider, provider.imap_endpoint(address=mailbox.address), credentials) == 1


def test_refresh_stores_the_rotated_refresh_token_and_the_old_one_dies(oauth_kind, make_mailbox):
    provider = _provider(oauth_kind)
    mailbox = make_mailbox()
    first = _connect(provider, mailbox)
    second = provider.refresh(first)
    assert second.access_token != first.access_token
    assert second.refresh_token and second.refresh_token != first.refresh_token
    assert _select_inbox(provider, provider.imap_endpoint(address=mailbox.address), second) == 0
    with pytest.raises(AuthFailure):
        provider.refresh(first)


def test_revoked_access_is_an_auth_failure_everywhere(oauth_kind, make_mailbox, local_provider):
    provider = _provider(oauth_kind)
    mailbox = make_mailbox()
    credentials = _connect(provider, mailbox)
    control.revoke_tokens(local_provider, mailbox.address)
    with pytest.raises(AuthFailure):
        _select_inbox(provider, provider.imap_endpoint(address=mailbox.address), credentials)
    with pytest.raises(AuthFailure):
        provider.refresh(credentials)


def test_wrong_client_secret_is_a_configuration_failure(oauth_kind, make_mailbox):
    credentials = _connect(_provider(oauth_kind), make_mailbox())
    with pytest.raises(ConfigurationFailure):
        _provider(oauth_kind, client_secret="wrong-secret").refresh(credentials)


def test_authorization_server_down_is_a_passing_failure(oauth_kind, make_mailbox, provider_servers):
    provider = _provider(oauth_kind)
    mailbox = make_mailbox()
    credentials = _connect(provider, mailbox)
    control.stop_http(provider_servers)
    with pytest.raises(PassingFailure):
        provider.refresh(credentials)
    with pytest.raises(PassingFailure):
        _select_inbox(provider, provider.imap_endpoint(address=mailbox.address), credentials)


def test_imap_server_down_is_a_passing_failure_for_oauth_and_password(make_mailbox, provider_servers):
    mailbox = make_mailbox()
    provider = _provider("local")
    credentials = _connect(provider, mailbox)
    control.stop_imap(provider_servers)
    with pytest.raises(PassingFailure):
        _select_inbox(provider, provider.imap_endpoint(address=mailbox.address), credentials)
    password = PROVIDERS["imap"]()
    endpoint = _password_endpoint(mailbox.address)
    with pytest.raises(PassingFailure):
        _select_inbox(password, endpoint, Credentials(password=mailbox.password))


def _password_endpoint(address: str) -> ImapEndpoint:
    local = settings.MAIL_PROVIDERS["local"]
    return PROVIDERS["imap"]().imap_endpoint(
        address=address,
        settings={"host": local["IMAP_HOST"], "port": local["IMAP_PORT"], "ssl": False, "username": address},
    )


def test_password_provider_logs_in_and_rejects_a_wrong_password(make_mailbox):
    mailbox = make_mailbox()
    provider = PROVIDERS["imap"]()
    endpoint = _password_endpoint(mailbox.address)
    assert _select_inbox(provider, endpoint, Credentials(password=mailbox.password)) == 0
    with pytest.raises(AuthFailure):
        _select_inbox(provider, endpoint, Credentials(password="wrong"))
