"""Local mail answering like Google and like Microsoft, per mailbox persona, on its HTTP side.

Real servers (DOT + Dovecot) on their own ports: two above the main suite's instance, one above
tests/test_localprovider.py's, so the three never meet.
"""

import base64
import hashlib
import os
import re
import secrets
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
import requests
from imapclient import IMAPClient
from imapclient.exceptions import LoginError
from jwcrypto import jwk, jwt

from localprovider import browser, control, personas
from localprovider.personas import Persona
from tests.provider_fixtures import start_or_skip

pytestmark = pytest.mark.local_provider

REPO_DIR = Path(__file__).resolve().parent.parent
INSTANCE = control.Instance(
    dir=REPO_DIR / ".testbed" / f"test-lp-personas-{int(os.environ['LOCAL_PROVIDER_HTTP_PORT']) + 2}",
    http_port=int(os.environ["LOCAL_PROVIDER_HTTP_PORT"]) + 2,
    imap_port=int(os.environ["LOCAL_PROVIDER_IMAP_PORT"]) + 2,
)
REDIRECT_URI = "http://127.0.0.1:8000/oauth/callback/"
PASSWORD = "persona-pw"
GMAIL = "https://mail.google.com/"
OUTLOOK_IMAP = "https://outlook.office.com/IMAP.AccessAsUser.All"
GRAPH_MAIL = "https://graph.microsoft.com/Mail.Read"
# What the main app asks each provider for (config/mail_providers.py).
REQUESTED: dict[Persona, str] = {
    "plain": "imap",
    "google": f"{GMAIL} openid email",
    "microsoft": f"openid email offline_access {OUTLOOK_IMAP}",
}


@pytest.fixture(scope="module")
def provider() -> Iterator[control.Instance]:
    start_or_skip(INSTANCE)
    try:
        yield INSTANCE
    finally:
        control.stop(INSTANCE)


@pytest.fixture
def mailbox(provider: control.Instance) -> Callable[..., str]:
    """A fresh mailbox imitating a persona; unique per test, as the instance outlives tests."""

    def make(persona: Persona, domain: str = "acme.test") -> str:
        return control.create_mailbox(provider, f"{persona}-{uuid.uuid4().hex[:8]}@{domain}", PASSWORD, persona)

    return make


def _authorize_url(scope: str, *, challenge: str = "x" * 43, **extra: str) -> str:
    """An authorization request of the main app's shape (code flow, PKCE) to this instance."""
    query = {
        "response_type": "code",
        "client_id": INSTANCE.client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": scope,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **extra,
    }
    return f"{INSTANCE.authorize_url}?{urlencode(query)}"


def _code(email: str, scope: str, *, untick: tuple[str, ...] = ()) -> tuple[str, str]:
    """Sign in and consent as `email`; returns the authorization code and its PKCE verifier."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    url = _authorize_url(scope, challenge=challenge, state="s")
    callback = browser.authorize_as(url, email, PASSWORD, untick=untick)
    return browser.callback_query(callback)["code"], verifier


def _exchange(code: str, verifier: str) -> requests.Response:
    return requests.post(
        INSTANCE.token_url,
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
        },
        auth=(INSTANCE.client_id, INSTANCE.client_secret),
        timeout=10,
    )


def _refresh(refresh_token: str, scope: str | None = None) -> requests.Response:
    return requests.post(
        INSTANCE.token_url,
        data={"grant_type": "refresh_token", "refresh_token": refresh_token, **({"scope": scope} if scope else {})},
        auth=(INSTANCE.client_id, INSTANCE.client_secret),
        timeout=10,
    )


def _tokens(email: str, persona: Persona, *, untick: tuple[str, ...] = (), scope: str = "") -> dict[str, str]:
    answer = _exchange(*_code(email, scope or REQUESTED[persona], untick=untick))
    assert answer.status_code == 200, answer.text
    return answer.json()


def _opens_inbox(email: str, access_token: str) -> None:
    with IMAPClient(INSTANCE.imap_host, port=INSTANCE.imap_port, ssl=False, timeout=10) as client:
        client.oauth2_login(email, access_token)
        client.select_folder("INBOX")


def _verified_claims(id_token: str) -> dict[str, object]:
    """The ID token's claims, once its signature checks out against the published JWKS."""
    discovery = requests.get(f"{INSTANCE.base_url}/o/.well-known/openid-configuration", timeout=10).json()
    assert discovery["issuer"] == INSTANCE.base_url
    keys = jwk.JWKSet.from_json(requests.get(discovery["jwks_uri"], timeout=10).text)
    assert all("d" not in key for key in keys.export(private_keys=False, as_dict=True)["keys"])
    token = jwt.JWT(jwt=id_token, key=keys, expected_type="JWS")
    assert token.token.jose_header["alg"] == "RS256"
    return dict(jwt.json_decode(token.claims))


@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        ("plain", {"imap"}),
        ("google", {GMAIL, "openid", "https://www.googleapis.com/auth/userinfo.email"}),
        ("microsoft", {OUTLOOK_IMAP}),
    ],
)
def test_token_answer_words_the_scope_like_the_provider(
    mailbox: Callable[..., str], persona: Persona, expected: set[str]
) -> None:
    email = mailbox(persona)
    tokens = _tokens(email, persona)
    assert set(tokens["scope"].split()) == expected
    assert ("id_token" in tokens) == (persona != "plain")  # only scope openid brings one
    _opens_inbox(email, tokens["access_token"])
    refreshed = _refresh(tokens["refresh_token"]).json()
    assert set(refreshed["scope"].split()) == expected
    userinfo = requests.get(INSTANCE.userinfo_url, headers={"Authorization": f"Bearer {refreshed['access_token']}"})
    assert userinfo.json() == {"sub": userinfo.json()["sub"], "email": email, "email_verified": True}


def test_google_keeps_its_refresh_token(mailbox: Callable[..., str]) -> None:
    email = mailbox("google")
    tokens = _tokens(email, "google")
    for _ in range(2):  # the same refresh token, again and again
        answer = _refresh(tokens["refresh_token"])
        assert answer.status_code == 200, answer.text
        assert "refresh_token" not in answer.json()
        _opens_inbox(email, answer.json()["access_token"])


def test_microsoft_rotates_its_refresh_token_and_the_old_one_still_works(mailbox: Callable[..., str]) -> None:
    email = mailbox("microsoft")
    tokens = _tokens(email, "microsoft")
    answer = _refresh(tokens["refresh_token"])
    assert answer.status_code == 200, answer.text
    assert answer.json()["refresh_token"] not in ("", tokens["refresh_token"])
    _opens_inbox(email, answer.json()["access_token"])
    # Microsoft does not revoke a used refresh token (validator._save_bearer_token names the source).
    assert _refresh(tokens["refresh_token"]).status_code == 200
    assert _refresh(answer.json()["refresh_token"]).status_code == 200


def _graph_accepts(access_token: str) -> bool:
    """Whether Local mail's Graph takes the token: an empty subscription request is then refused 400
    (bad request), where a token it does not take is refused 401."""
    answer = requests.post(
        f"{INSTANCE.base_url}/graph/v1.0/subscriptions",
        json={},
        headers={"Authorization": f"Bearer {access_token}"},
        timeout=10,
    )
    assert answer.status_code in (400, 401), answer.text
    return answer.status_code == 400


def test_microsoft_access_tokens_outlive_the_refresh_of_their_refresh_token(mailbox: Callable[..., str]) -> None:
    """One refresh token, one access token per resource (Outlook's IMAP, Graph), refreshed in turn: each
    access token keeps working until it expires, and revoking the grant ends them all."""
    email = mailbox("microsoft")
    imap = _tokens(email, "microsoft", scope=f"{REQUESTED['microsoft']} {GRAPH_MAIL}")
    graph = _refresh(imap["refresh_token"], GRAPH_MAIL).json()
    assert _graph_accepts(graph["access_token"]) and not _graph_accepts(imap["access_token"])
    _opens_inbox(email, imap["access_token"])  # the IMAP token outlives the Graph refresh
    imap_again = _refresh(graph["refresh_token"], OUTLOOK_IMAP).json()
    _opens_inbox(email, imap_again["access_token"])
    assert _graph_accepts(graph["access_token"])  # and the Graph token outlives the IMAP refresh
    _opens_inbox(email, imap["access_token"])

    control.revoke_tokens(INSTANCE, email)
    for access_token in (imap["access_token"], imap_again["access_token"]):
        with pytest.raises(LoginError, match="AUTHENTICATE failed"):  # Exchange's words (recorded.json)
            _opens_inbox(email, access_token)
    assert not _graph_accepts(graph["access_token"])
    for refresh_token in (imap["refresh_token"], graph["refresh_token"], imap_again["refresh_token"]):
        assert _refresh(refresh_token).json()["error"] == "invalid_grant"


@pytest.mark.parametrize("persona", ["google", "plain"])
def test_google_and_plain_end_the_previous_access_token_at_a_refresh(
    mailbox: Callable[..., str], persona: Persona
) -> None:
    """Unchanged (README, "Personas"): DOT reuses the google token's row, and plain's rotation revokes it."""
    email = mailbox(persona)
    tokens = _tokens(email, persona)
    answer = _refresh(tokens["refresh_token"])
    assert answer.status_code == 200, answer.text
    _opens_inbox(email, answer.json()["access_token"])
    with pytest.raises(LoginError, match=re.escape("[AUTHENTICATIONFAILED]")):
        _opens_inbox(email, tokens["access_token"])
    again = _refresh(tokens["refresh_token"])
    if persona == "google":  # Google keeps its refresh token
        assert again.status_code == 200
    else:
        assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


def test_google_id_token_is_signed_and_names_the_mailbox(mailbox: Callable[..., str]) -> None:
    email = mailbox("google")
    tokens = _tokens(email, "google")
    claims = _verified_claims(tokens["id_token"])
    assert claims["iss"] == INSTANCE.base_url  # stands for https://accounts.google.com
    assert claims["aud"] == INSTANCE.client_id
    assert claims["email"] == email and claims["email_verified"] is True
    assert claims["sub"] and int(str(claims["iat"])) < int(str(claims["exp"]))
    assert "tid" not in claims and "preferred_username" not in claims
    # Google sends an ID token with a refresh too, for the same person.
    refreshed = _verified_claims(_refresh(tokens["refresh_token"]).json()["id_token"])
    assert refreshed["sub"] == claims["sub"] and refreshed["email"] == email


def test_microsoft_id_token_names_tenant_object_and_sign_in_name(mailbox: Callable[..., str]) -> None:
    email, colleague, outsider = mailbox("microsoft"), mailbox("microsoft"), mailbox("microsoft", domain="other.test")
    control.set_persona(INSTANCE, email, "microsoft", email_claim="alias@acme.test")
    claims = _verified_claims(_tokens(email, "microsoft")["id_token"])
    guid = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
    assert guid.match(str(claims["tid"])) and guid.match(str(claims["oid"]))
    assert claims["iss"] == f"{INSTANCE.base_url}/{claims['tid']}/v2.0"
    assert claims["aud"] == INSTANCE.client_id and claims["ver"] == "2.0"
    assert claims["preferred_username"] == email and claims["email"] == "alias@acme.test"
    assert int(str(claims["nbf"])) <= int(str(claims["iat"])) < int(str(claims["exp"]))

    again = _verified_claims(_tokens(email, "microsoft")["id_token"])
    same_domain = _verified_claims(_tokens(colleague, "microsoft")["id_token"])
    other_domain = _verified_claims(_tokens(outsider, "microsoft")["id_token"])
    assert (again["tid"], again["oid"]) == (claims["tid"], claims["oid"])  # stable per mailbox
    assert same_domain["tid"] == claims["tid"] and same_domain["oid"] != claims["oid"]
    assert same_domain["email"] == same_domain["preferred_username"] == colleague  # no email_claim set
    assert other_domain["tid"] != claims["tid"]


@pytest.mark.parametrize("persona", ["google", "microsoft"])
def test_every_recorded_token_answer_is_replayed_exactly_until_cleared(
    mailbox: Callable[..., str], persona: Persona
) -> None:
    email = mailbox(persona)
    refresh_token = _tokens(email, persona)["refresh_token"]
    code, verifier = _code(email, REQUESTED[persona])  # not exchanged yet: a forced answer must not spend it
    entries = personas.recorded(persona, "token")
    assert entries
    for name, entry in entries.items():
        control.force_answer(INSTANCE, email, "token", name)
        for grant, answer in (("code", _exchange(code, verifier)), ("refresh", _refresh(refresh_token))):
            assert answer.status_code == entry["status"], (name, grant)
            for header, value in entry["headers"].items():
                assert answer.headers.get(header) == value, (name, grant, header)
            if isinstance(entry["body"], str):
                assert answer.text == entry["body"], (name, grant)
            else:
                assert answer.json() == entry["body"], (name, grant)
    control.clear_answers(INSTANCE, email)
    assert _exchange(code, verifier).status_code == 200
    assert _refresh(refresh_token).status_code == 200


def test_unticked_gmail_scope_gives_a_token_imap_refuses(mailbox: Callable[..., str]) -> None:
    email = mailbox("google")
    page = _consent_page(email, REQUESTED["google"])
    assert "Read, compose, send and permanently delete all your email from Gmail" in page.text
    assert [(value, ticked) for _name, value, ticked in browser.parse_page(page.text).checkboxes] == [(GMAIL, True)]

    partial = _tokens(email, "google", untick=(GMAIL,))
    assert set(partial["scope"].split()) == {"openid", "https://www.googleapis.com/auth/userinfo.email"}
    with pytest.raises(LoginError, match=re.escape("[AUTHENTICATIONFAILED]")):
        _opens_inbox(email, partial["access_token"])
    assert _verified_claims(partial["id_token"])["email"] == email  # signing in still works

    _opens_inbox(email, _tokens(email, "google")["access_token"])


def test_only_google_offers_checkboxes(mailbox: Callable[..., str]) -> None:
    for persona in ("microsoft", "plain"):
        page = _consent_page(mailbox(persona), REQUESTED[persona])
        assert "wants to access your mailbox" in page.text and not browser.parse_page(page.text).checkboxes
        with pytest.raises(RuntimeError, match="no checkbox"):
            browser.answer_consent(requests.Session(), page, untick=(GMAIL,))


def _consent_page(email: str, scope: str, **extra: str) -> requests.Response:
    session = requests.Session()
    return browser.sign_in(session, session.get(_authorize_url(scope, **extra)), email, PASSWORD)


@pytest.mark.parametrize("persona", ["google", "microsoft"])
def test_every_recorded_authorize_answer_sends_the_person_back_with_its_error_until_cleared(
    mailbox: Callable[..., str], persona: Persona
) -> None:
    email = mailbox(persona)
    entries = personas.recorded(persona, "authorize")
    assert entries
    for name, entry in entries.items():
        control.force_answer(INSTANCE, email, "authorize", name)
        back = browser.sent_back_as(_authorize_url(REQUESTED[persona], state="st-1"), email, PASSWORD)
        assert back.split("?")[0] == REDIRECT_URI, name
        assert browser.callback_query(back) == {**entry["query"], "state": "st-1"}, name
    # A redirect URI the client did not register is never sent anything: DOT's error page instead.
    stray = _consent_page(email, REQUESTED[persona], redirect_uri="http://127.0.0.1:9/elsewhere/")
    assert stray.status_code == 400 and stray.url.startswith(INSTANCE.base_url)
    control.clear_answers(INSTANCE, email)
    assert "wants to access your mailbox" in _consent_page(email, REQUESTED[persona]).text


@pytest.mark.parametrize("which", ["access_token", "refresh_token"])
def test_google_revoke_ends_the_whole_grant(mailbox: Callable[..., str], which: str) -> None:
    email = mailbox("google")
    first, second = _tokens(email, "google"), _tokens(email, "google")
    answer = requests.post(f"{INSTANCE.base_url}/revoke", data={"token": first[which]}, timeout=10)
    assert (answer.status_code, answer.json()) == (200, {})
    for tokens in (first, second):  # every token of that person for this client
        assert _refresh(tokens["refresh_token"]).json()["error"] == "invalid_grant"
        with pytest.raises(LoginError, match=re.escape("[AUTHENTICATIONFAILED]")):
            _opens_inbox(email, tokens["access_token"])
    again = requests.post(f"{INSTANCE.base_url}/revoke", data={"token": first[which]}, timeout=10)
    assert again.status_code == 400
    assert again.json() == {"error": "invalid_token", "error_description": "Token expired or revoked"}


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "localprovider", *args],
        env={**os.environ, **INSTANCE.environ()},
        cwd=REPO_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_cli_sets_personas_and_forces_answers(provider: control.Instance) -> None:
    email = f"cli-{uuid.uuid4().hex[:8]}@acme.test"
    created = _cli("create-mailbox", email, PASSWORD, "--persona", "microsoft")
    assert created.returncode == 0 and "microsoft persona" in created.stdout, created.stderr
    assert control.mailbox_state(INSTANCE, email) == personas.MailboxState(persona="microsoft")

    assert _cli("persona", email, "microsoft", "--email-claim", "alias@acme.test").returncode == 0
    assert _cli("answer", email, "token", "throttled_429").returncode == 0
    assert control.mailbox_state(INSTANCE, email) == personas.MailboxState(
        persona="microsoft", email_claim="alias@acme.test", token_answer="throttled_429"
    )
    assert _refresh_status_of_forced(email) == 429
    assert _cli("answer", email, "token", "clear").returncode == 0
    assert control.mailbox_state(INSTANCE, email).token_answer is None
    assert _cli("answer", email, "authorize", "aadsts53003_conditional_access").returncode == 0
    assert control.mailbox_state(INSTANCE, email).authorize_answer == "aadsts53003_conditional_access"
    assert _cli("answer", email, "authorize", "clear").returncode == 0
    assert control.mailbox_state(INSTANCE, email).authorize_answer is None

    listed = _cli("answers", "google")
    assert listed.returncode == 0
    for surface in ("token", "authorize"):
        for name, entry in personas.recorded("google", surface).items():
            line = rf"^{surface}\s+{name}\s+{re.escape(entry['source'][:40])}"
            assert re.search(line, listed.stdout, re.M), name

    for args, complaint in (
        (("answer", email, "token", "invalid_grant_revoked"), "no recorded token answer"),  # a Google name
        (("persona", "nobody@acme.test", "google"), "no mailbox nobody@acme.test"),
        (("persona", email, "yahoo"), "invalid choice"),
    ):
        failed = _cli(*args)
        assert failed.returncode == 2 and complaint in failed.stderr, failed.stderr
        assert failed.stderr.count("\n") == 1 and not failed.stdout


def _refresh_status_of_forced(email: str) -> int:
    """What the token endpoint answers a refresh of `email` while its answer is forced."""
    refresh_token = control.issue_tokens(INSTANCE, [email])[email]["refresh_token"]
    return _refresh(str(refresh_token)).status_code
