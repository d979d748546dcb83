"""The contract every provider module keeps, against the real Local mail answering as that provider.

Gmail's module talks to Local mail's `google` persona, Microsoft's to its `microsoft` persona and the
local module to the plain one (settings point them there: config/mail_providers.py), with real
consent pages, real tokens, real ID tokens and a real IMAP server; the password module logs in to
Dovecot's password users.
"""

from urllib.parse import parse_qs, urlparse

import pytest
from django.conf import settings

from channels_app.providers import (
    AuthFailure,
    ConfigurationFailure,
    Credentials,
    ImapEndpoint,
    PassingFailure,
    get_provider,
    provider_classes,
)
from channels_app.providers.oauth import OAuthProvider
from localprovider import browser, control

pytestmark = pytest.mark.local_provider

OAUTH_KINDS = [kind for kind, cls in provider_classes().items() if cls.uses_oauth]
PERSONA = {"gmail": "google", "microsoft": "microsoft", "local": "plain"}
# Google keeps a refresh token for good; Microsoft and Local mail hand out a new one on every refresh.
ROTATES = {"gmail": False, "microsoft": True, "local": True}
# Whether a rotated-away refresh token is spent: Microsoft does not revoke it
# (https://learn.microsoft.com/en-us/entra/identity-platform/refresh-tokens, "Token lifetime"); DOT does.
SPENDS_OLD = {"microsoft": False, "local": True}
REDIRECT_URI = "http://127.0.0.1/oauth/callback/"
VERIFIER = "contract-verifier-" + "x" * 40


@pytest.fixture(params=OAUTH_KINDS)
def oauth_kind(request) -> str:
    return request.param


@pytest.fixture
def persona_mailbox(make_mailbox, oauth_kind):
    return make_mailbox(persona=PERSONA[oauth_kind])


def _provider(kind: str) -> OAuthProvider:
    provider = get_provider(kind)
    assert isinstance(provider, OAuthProvider)
    return provider


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


def test_authorization_url_carries_pkce_state_and_login_hint(oauth_kind):
    url = _provider(oauth_kind).authorization_url(
        redirect_uri=REDIRECT_URI, state="st", code_verifier=VERIFIER, login_hint="a@acme.test"
    )
    query = parse_qs(urlparse(url).query)
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"][0] != VERIFIER
    assert query["state"] == ["st"] and query["login_hint"] == ["a@acme.test"]


def test_round_trip_gives_tokens_that_open_the_mailbox_of_the_right_account(
    oauth_kind, persona_mailbox, local_provider
):
    mailbox = persona_mailbox
    control.append_messages(local_provider, mailbox.address, [control.make_message(recipient=mailbox.address)])
    provider = _provider(oauth_kind)
    credentials = _connect(provider, mailbox)
    assert credentials.refresh_token and credentials.expires_at is not None
    assert provider.account_address(credentials) == mailbox.address
    assert _select_inbox(provider, provider.imap_endpoint(address=mailbox.address), credentials) == 1


def test_refresh_keeps_or_rotates_the_refresh_token_as_the_provider_does(oauth_kind, persona_mailbox):
    provider = _provider(oauth_kind)
    first = _connect(provider, persona_mailbox)
    second = provider.refresh(first)
    assert second.access_token != first.access_token
    assert second.granted_at == first.granted_at
    assert _select_inbox(provider, provider.imap_endpoint(address=persona_mailbox.address), second) == 0
    if ROTATES[oauth_kind]:
        assert second.refresh_token and second.refresh_token != first.refresh_token
        if SPENDS_OLD[oauth_kind]:
            with pytest.raises(AuthFailure):
                provider.refresh(first)
        else:
            assert provider.refresh(first).access_token
    else:
        assert second.refresh_token == first.refresh_token
        assert provider.refresh(first).access_token


def test_revoked_access_is_an_auth_failure_everywhere(oauth_kind, persona_mailbox, local_provider):
    provider = _provider(oauth_kind)
    credentials = _connect(provider, persona_mailbox)
    control.revoke_tokens(local_provider, persona_mailbox.address)
    with pytest.raises(AuthFailure):
        _select_inbox(provider, provider.imap_endpoint(address=persona_mailbox.address), credentials)
    with pytest.raises(AuthFailure):
        provider.refresh(credentials)


def test_wrong_client_secret_is_a_configuration_failure(oauth_kind, persona_mailbox, settings):
    credentials = _connect(_provider(oauth_kind), persona_mailbox)
    values = settings.MAIL_PROVIDERS[oauth_kind]
    settings.MAIL_PROVIDERS = {**settings.MAIL_PROVIDERS, oauth_kind: {**values, "CLIENT_SECRET": "wrong-secret"}}
    with pytest.raises(ConfigurationFailure):
        _provider(oauth_kind).refresh(credentials)


def test_authorization_server_down_is_a_passing_failure(oauth_kind, make_mailbox, provider_servers):
    provider = _provider(oauth_kind)
    mailbox = make_mailbox(persona=PERSONA[oauth_kind])
    credentials = _connect(provider, mailbox)
    control.stop_http(provider_servers)
    with pytest.raises(PassingFailure):
        provider.refresh(credentials)
    with pytest.raises(PassingFailure):
        _select_inbox(provider, provider.imap_endpoint(address=mailbox.address), credentials)


def test_revoke_gives_the_grant_back_where_the_provider_can(oauth_kind, persona_mailbox):
    provider = _provider(oauth_kind)
    credentials = _connect(provider, persona_mailbox)
    outcome = provider.revoke(credentials)
    if oauth_kind == "microsoft":
        # Microsoft documents no revocation endpoint for apps; the UI says how to remove access instead.
        assert outcome.name == "UNSUPPORTED" and provider.revocation_note
        return
    assert outcome.name == "REVOKED"
    with pytest.raises(AuthFailure):
        provider.refresh(credentials)


def test_imap_server_down_is_a_passing_failure_for_oauth_and_password(make_mailbox, provider_servers):
    mailbox = make_mailbox()
    provider = _provider("local")
    credentials = _connect(provider, mailbox)
    control.stop_imap(provider_servers)
    with pytest.raises(PassingFailure):
        _select_inbox(provider, provider.imap_endpoint(address=mailbox.address), credentials)
    password = get_provider("imap")
    endpoint = _password_endpoint(mailbox.address)
    with pytest.raises(PassingFailure):
        _select_inbox(password, endpoint, Credentials(password=mailbox.password))


def _password_endpoint(address: str) -> ImapEndpoint:
    local = settings.MAIL_PROVIDERS["local"]
    return get_provider("imap").imap_endpoint(
        address=address,
        settings={"host": local["IMAP_HOST"], "port": local["IMAP_PORT"], "security": "none", "username": address},
    )


def test_password_provider_logs_in_and_rejects_a_wrong_password(make_mailbox):
    mailbox = make_mailbox()
    provider = get_provider("imap")
    endpoint = _password_endpoint(mailbox.address)
    assert _select_inbox(provider, endpoint, Credentials(password=mailbox.password)) == 0
    with pytest.raises(AuthFailure):
        _select_inbox(provider, endpoint, Credentials(password="wrong"))
