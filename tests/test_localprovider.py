"""End-to-end tests of localprovider: a real OAuth server (DOT) and a real Dovecot on loopback.

No Django test database: the provider runs as separate processes, like Google would. Runs on its own
ports so it does not disturb a dev instance or the main app's test instance.
"""

import json
import os
import re
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests
from imapclient import IMAPClient
from imapclient.exceptions import LoginError
from jwcrypto import jwk, jwt
from oauthlib.oauth2.rfc6749.errors import InvalidClientError, InvalidGrantError
from requests.auth import HTTPBasicAuth
from requests_oauthlib import OAuth2Session

from localprovider import browser as browser_pages
from localprovider import control
from tests.provider_fixtures import start_or_skip

pytestmark = pytest.mark.local_provider

REPO_DIR = Path(__file__).resolve().parent.parent
# One port above the main suite's instance (config/test_settings.py), so suites on other ports never meet.
INSTANCE = control.Instance(
    dir=REPO_DIR / ".testbed" / f"test-lp-{int(os.environ['LOCAL_PROVIDER_HTTP_PORT']) + 1}",
    http_port=int(os.environ["LOCAL_PROVIDER_HTTP_PORT"]) + 1,
    imap_port=int(os.environ["LOCAL_PROVIDER_IMAP_PORT"]) + 1,
)
REDIRECT_URI = "http://127.0.0.1:8000/oauth/callback/"  # any port: DOT follows RFC 8252 for loopback
ALICE = ("alice@acme.test", "alice-pw")
BOB = ("bob@other.test", "bob-pw")


@pytest.fixture(scope="module")
def provider() -> Iterator[control.Instance]:
    start_or_skip(INSTANCE)
    for email, password in (ALICE, BOB):
        control.create_mailbox(INSTANCE, email, password)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # plain http on loopback, tests only
        try:
            yield INSTANCE
        finally:
            control.stop(INSTANCE)


_parse = browser_pages.parse_page


def _oauth(redirect_uri: str = REDIRECT_URI) -> OAuth2Session:
    return OAuth2Session(INSTANCE.client_id, redirect_uri=redirect_uri, scope=["imap"], pkce="S256")


def _sign_in(browser: requests.Session, page: requests.Response, email: str, password: str) -> requests.Response:
    assert "Local mail — Sign in" in page.text
    return browser_pages.sign_in(browser, page, email, password)


def _consent(browser: requests.Session, page: requests.Response, allow: bool = True) -> dict[str, list[str]]:
    """Posts the consent form and returns the query of the redirect back to the client."""
    return parse_qs(urlsplit(browser_pages.answer_consent(browser, page, allow=allow)).query)


def _authorize(
    oauth: OAuth2Session, email: str, password: str, login_hint: str | None = None
) -> tuple[requests.Session, requests.Response]:
    """Browser part of the flow up to the consent page, signed in as `email`."""
    url, _state = oauth.authorization_url(INSTANCE.authorize_url, **({"login_hint": login_hint} if login_hint else {}))
    browser = requests.Session()
    consent = _sign_in(browser, browser.get(url), email, password)
    assert consent.status_code == 200 and "wants to access your mailbox" in consent.text, consent.text[:500]
    return browser, consent


def _tokens(account: tuple[str, str] = ALICE, redirect_uri: str = REDIRECT_URI) -> dict[str, object]:
    """A full authorization-code + PKCE round trip, as the main app does it."""
    oauth = _oauth(redirect_uri)
    browser, consent = _authorize(oauth, *account)
    query = _consent(browser, consent)
    callback = f"{redirect_uri}?code={query['code'][0]}&state={query['state'][0]}"
    return oauth.fetch_token(INSTANCE.token_url, authorization_response=callback, client_secret=INSTANCE.client_secret)


def _refresh(token: dict[str, object], secret: str = INSTANCE.client_secret) -> dict[str, object]:
    return _oauth().refresh_token(
        INSTANCE.token_url, refresh_token=str(token["refresh_token"]), auth=HTTPBasicAuth(INSTANCE.client_id, secret)
    )


def _imap() -> IMAPClient:
    return IMAPClient(INSTANCE.imap_host, port=INSTANCE.imap_port, ssl=False, timeout=10)


def _xoauth2_login(email: str, access_token: str) -> None:
    with _imap() as client:
        client.oauth2_login(email, access_token)
        client.select_folder("INBOX")
        client.logout()


def test_authorization_code_round_trip_gives_a_token_that_logs_in_over_imap(provider: control.Instance) -> None:
    token = _tokens()
    assert token["scope"] == ["imap"] and token["refresh_token"]
    _xoauth2_login(ALICE[0], str(token["access_token"]))

    userinfo = requests.get(INSTANCE.userinfo_url, headers={"Authorization": f"Bearer {token['access_token']}"})
    assert userinfo.status_code == 200
    assert userinfo.json() == {"sub": userinfo.json()["sub"], "email": ALICE[0], "email_verified": True}
    assert requests.get(INSTANCE.userinfo_url, headers={"Authorization": "Bearer nope"}).status_code == 401


def test_token_of_another_account_does_not_open_this_mailbox(provider: control.Instance) -> None:
    token = _tokens(BOB)
    with pytest.raises(LoginError, match=re.escape("[AUTHENTICATIONFAILED]")):
        _xoauth2_login(ALICE[0], str(token["access_token"]))


def test_password_login_sees_appended_messages(provider: control.Instance) -> None:
    email = "support@acme.test"
    control.create_mailbox(provider, email, "first")
    control.set_password(provider, email, "second")
    messages = [control.make_message(recipient=email, subject=f"Hello {i}") for i in range(3)]
    assert 2500 < len(messages[0]) < 3500
    assert control.append_messages(provider, email, messages) == 3
    with _imap() as client, pytest.raises(LoginError, match=re.escape("[AUTHENTICATIONFAILED]")):
        client.login(email, "first")
    with _imap() as client:
        client.login(email, "second")
        assert client.select_folder("INBOX")[b"EXISTS"] >= 3
        uids = client.search(["SUBJECT", "Hello 2"])
        body = client.fetch(uids, ["BODY.PEEK[]"])[uids[0]][b"BODY[]"]
        assert b"Message-ID: <" in body and b"To: support@acme.test" in body
    control.set_password(provider, email, "third")  # takes effect at once, even right after a login
    with _imap() as client:
        client.login(email, "third")
    # Same local part, other domain: another mailbox (Dovecot keys on the full address).
    control.create_mailbox(provider, "support@other.test", "other")
    with _imap() as client:
        client.login("support@other.test", "other")
        assert client.select_folder("INBOX")[b"EXISTS"] == 0


def test_revoked_access_fails_imap_login_and_refresh(provider: control.Instance) -> None:
    token = _tokens()
    _xoauth2_login(ALICE[0], str(token["access_token"]))
    control.revoke_tokens(provider, ALICE[0])
    with pytest.raises(LoginError, match=re.escape("[AUTHENTICATIONFAILED]")):
        _xoauth2_login(ALICE[0], str(token["access_token"]))
    with pytest.raises(InvalidGrantError):
        _refresh(token)
    assert (
        requests.get(INSTANCE.userinfo_url, headers={"Authorization": f"Bearer {token['access_token']}"}).status_code
        == 401
    )


def test_expired_access_token_is_refused_until_refreshed(provider: control.Instance) -> None:
    token = _tokens()
    control.expire_tokens(provider, ALICE[0])
    with pytest.raises(LoginError, match=re.escape("[AUTHENTICATIONFAILED]")):
        _xoauth2_login(ALICE[0], str(token["access_token"]))
    refreshed = _refresh(token)
    assert refreshed["refresh_token"] != token["refresh_token"]  # rotation
    _xoauth2_login(ALICE[0], str(refreshed["access_token"]))
    with pytest.raises(InvalidGrantError):
        _refresh(token)  # the rotated-away refresh token is spent


def test_each_token_request_is_logged_with_its_mailbox_and_never_its_token(provider: control.Instance) -> None:
    log_before = provider.http_log.stat().st_size
    token = _tokens()
    refreshed = _refresh(token)
    with provider.http_log.open("rb") as log:
        log.seek(log_before)
        written = log.read().decode()
    assert f"token request: mailbox={ALICE[0]} grant_type=authorization_code status=200" in written
    assert f"token request: mailbox={ALICE[0]} grant_type=refresh_token status=200" in written
    for secret in (token["access_token"], token["refresh_token"], refreshed["access_token"]):
        assert str(secret) not in written


def test_wrong_client_secret_on_refresh_is_a_client_error(provider: control.Instance) -> None:
    with pytest.raises(InvalidClientError):
        _refresh(_tokens(), secret="not-the-secret")


def test_authorization_server_down_is_unavailable_not_a_failed_login(provider: control.Instance) -> None:
    token = _tokens()
    control.stop_http(provider)
    try:
        with pytest.raises(LoginError, match=re.escape("[UNAVAILABLE]")):
            _xoauth2_login(ALICE[0], str(token["access_token"]))
    finally:
        control.start_http(provider)
    _xoauth2_login(ALICE[0], str(token["access_token"]))


def test_imap_server_down_refuses_connections(provider: control.Instance) -> None:
    control.stop_imap(provider)
    try:
        with pytest.raises(ConnectionRefusedError):
            _imap()
    finally:
        control.start_imap(provider)
    assert control.is_running(provider)


def test_a_batch_of_ten_or_more_keeps_its_order_in_uids(provider: control.Instance) -> None:
    # Dovecot numbers new Maildir files in the order of their names: "Q10" once came before "Q2".
    email = f"ordered-{uuid.uuid4().hex[:8]}@acme.test"  # the instance outlives the test: a new mailbox each run
    control.create_mailbox(provider, email, "pw")
    subjects = [f"Demo message {i}" for i in range(1, 13)]
    control.append_messages(provider, email, [control.make_message(recipient=email, subject=s) for s in subjects])
    with _imap() as client:
        client.login(email, "pw")
        client.select_folder("INBOX")
        fetched = client.fetch(client.search("ALL"), ["BODY.PEEK[HEADER.FIELDS (SUBJECT)]"])
    said = [fetched[uid][b"BODY[HEADER.FIELDS (SUBJECT)]"].decode().strip() for uid in sorted(fetched)]
    assert said == [f"Subject: {s}" for s in subjects]


def test_the_consent_screen_names_the_product_people_connect_to(provider: control.Instance) -> None:
    url, _state = _oauth().authorization_url(INSTANCE.authorize_url)
    browser = requests.Session()
    consent = _sign_in(browser, browser.get(url), *ALICE)
    assert f"Shared Inbox wants to access your mailbox {ALICE[0]}" in consent.text
    assert "Channels app" not in consent.text


def test_login_hint_prefills_the_sign_in_page(provider: control.Instance) -> None:
    url, _state = _oauth().authorization_url(INSTANCE.authorize_url, login_hint=BOB[0])
    page = requests.get(url)
    assert "Local mail — Sign in" in page.text
    assert _parse(page.text).inputs["email"] == BOB[0]


def test_deny_redirects_with_access_denied(provider: control.Instance) -> None:
    browser, consent = _authorize(_oauth(), *ALICE)
    query = _consent(browser, consent, allow=False)
    assert query["error"] == ["access_denied"] and "code" not in query


def test_consent_can_switch_to_another_account_than_the_hint(provider: control.Instance) -> None:
    oauth = _oauth()
    browser, consent = _authorize(oauth, *ALICE, login_hint=ALICE[0])
    assert f"your mailbox {ALICE[0]}" in consent.text
    sign_in = browser.get(urljoin(consent.url, _parse(consent.text).links["Not you? Use another account"]))
    consent = _sign_in(browser, sign_in, *BOB)
    assert f"your mailbox {BOB[0]}" in consent.text
    query = _consent(browser, consent)
    callback = f"{REDIRECT_URI}?code={query['code'][0]}&state={query['state'][0]}"
    token = oauth.fetch_token(INSTANCE.token_url, authorization_response=callback, client_secret=INSTANCE.client_secret)
    userinfo = requests.get(INSTANCE.userinfo_url, headers={"Authorization": f"Bearer {token['access_token']}"})
    assert userinfo.json()["email"] == BOB[0]


@pytest.mark.parametrize(
    "redirect_uri", ["http://127.0.0.1:53123/oauth/callback/", "http://localhost:8000/oauth/callback/"]
)
def test_loopback_redirect_uri_on_any_port(provider: control.Instance, redirect_uri: str) -> None:
    assert _tokens(redirect_uri=redirect_uri)["access_token"]


def test_unregistered_redirect_uri_is_refused(provider: control.Instance) -> None:
    url, _state = _oauth("http://evil.test/oauth/callback/").authorization_url(INSTANCE.authorize_url)
    browser = requests.Session()
    _sign_in(browser, browser.get(url), *ALICE)
    answer = browser.get(url, allow_redirects=False)
    assert answer.status_code == 400 and "evil.test" not in answer.headers.get("Location", "")


def test_start_leaves_running_servers_alone(provider: control.Instance, monkeypatch: pytest.MonkeyPatch) -> None:
    """Idempotent without a restart: no migration, no new process (what it costs is bench/'s business)."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"start ran a process while everything was running: {args}")

    monkeypatch.setattr(subprocess, "run", refuse)
    monkeypatch.setattr(subprocess, "Popen", refuse)
    control.start(provider)
    assert control.status(provider) == {"http": True, "imap": True}


def test_cli_revokes_access_while_mail_keeps_arriving(
    provider: control.Instance, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from localprovider.__main__ import main

    token = _tokens()
    monkeypatch.setenv("LOCAL_PROVIDER_DIR", str(INSTANCE.dir))
    monkeypatch.setenv("LOCAL_PROVIDER_HTTP_PORT", str(INSTANCE.http_port))
    monkeypatch.setenv("LOCAL_PROVIDER_IMAP_PORT", str(INSTANCE.imap_port))
    with _imap() as client:
        client.login(*ALICE)
        before = client.select_folder("INBOX")[b"EXISTS"]
    assert main(["revoke", ALICE[0], "--then-deliver", "2"]) == 0
    assert "delivered 2 new messages" in capsys.readouterr().out
    with pytest.raises(LoginError, match="AUTHENTICATIONFAILED"):
        _xoauth2_login(ALICE[0], str(token["access_token"]))
    with _imap() as client:
        client.login(*ALICE)
        assert client.select_folder("INBOX")[b"EXISTS"] == before + 2


def test_an_extra_openid_connect_client_signs_a_person_in_with_discovery_keys_and_userinfo(
    provider: control.Instance,
) -> None:
    """What a company sign-in asks of an identity provider: discovery under the issuer, an RS256 ID token
    that verifies against the published keys, and userinfo with a verified email."""
    redirect_uri = "http://127.0.0.1:8000/accounts/oidc/company-1/login/callback/"
    control.register_client(provider, "sso-test", "sso-test-secret", [redirect_uri])
    discovery = requests.get(f"{provider.base_url}/.well-known/openid-configuration", timeout=10).json()
    assert discovery["issuer"] == provider.base_url
    oauth = OAuth2Session("sso-test", redirect_uri=redirect_uri, scope=["openid", "email", "profile"], pkce="S256")
    url, _state = oauth.authorization_url(discovery["authorization_endpoint"], login_hint=ALICE[0])
    browser = requests.Session()
    query = _consent(browser, _sign_in(browser, browser.get(url), *ALICE))
    token = oauth.fetch_token(
        discovery["token_endpoint"],
        authorization_response=f"{redirect_uri}?code={query['code'][0]}&state={query['state'][0]}",
        client_secret="sso-test-secret",
    )
    keys = jwk.JWKSet.from_json(requests.get(discovery["jwks_uri"], timeout=10).text)
    claims = json.loads(jwt.JWT(jwt=str(token["id_token"]), key=keys, algs=["RS256"]).claims)
    assert (claims["iss"], claims["aud"], claims["email"]) == (provider.base_url, "sso-test", ALICE[0])
    userinfo = oauth.get(discovery["userinfo_endpoint"], timeout=10).json()
    assert (userinfo["email"], userinfo["email_verified"]) == (ALICE[0], True)


def test_the_instance_s_own_clients_cannot_be_registered_over(provider: control.Instance) -> None:
    with pytest.raises(control.LocalProviderError, match="one of the instance's own clients"):
        control.register_client(provider, provider.client_id, "other", ["http://127.0.0.1/x/"])
