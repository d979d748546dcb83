"""Local mail's Google Workspace domain-wide delegation: a service account signs a JWT assertion as a user of a
domain whose administrator delegated the Gmail scope to it, gets that user's access token at the google token
endpoint, and opens the mailbox over IMAP with it (XOAUTH2); each refusal is worded as Google words it.

Runs against the suite's own provider instance (`local_provider`) with its OAuth server, Dovecot and IMAP front.
Every test takes a domain and service account of its own: the provider outlives the test database.
"""

import json
import time
import urllib.error
import urllib.request
import uuid
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from localprovider import control
from tests.provider_fixtures import xoauth2_open, xoauth2_refused

pytestmark = pytest.mark.local_provider

GMAIL = "https://mail.google.com/"
UNAUTHORIZED_CLIENT = {
    "error": "unauthorized_client",
    "error_description": "Client is unauthorized to retrieve access tokens using this method, "
    "or client not authorized for any of the scopes requested.",
}
BAD_SIGNATURE = {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}
BAD_TIMES = {
    "error": "invalid_grant",
    "error_description": "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable "
    "timeframe. Check your iat and exp values in the JWT claim.",
}
NO_SUCH_USER = {"error": "invalid_grant", "error_description": "Invalid email or User ID"}


def _domain() -> str:
    return f"corp-{uuid.uuid4().hex[:8]}.test"


def _mailbox(instance: control.Instance, domain: str, local: str = "ana", messages: int = 1) -> str:
    address = control.create_mailbox(instance, f"{local}@{domain}", f"pw-{uuid.uuid4().hex}", persona="google")
    mail = [control.make_message(recipient=address) for _ in range(messages)]
    control.append_messages(instance, address, mail)
    return address


def _service_account(instance: control.Instance) -> dict[str, str]:
    return control.create_service_account(instance, f"mail-{uuid.uuid4().hex[:8]}")


def _assertion(key: dict[str, str], sub: str | None, **changes: Any) -> str:
    """A service account's JWT as Google's client libraries sign it; `changes` replace or (None) drop claims."""
    signing_key = changes.pop("_signing_key", None) or key["private_key"]
    headers = {} if changes.pop("_without_kid", False) else {"kid": key["private_key_id"]}
    now = int(time.time())
    claims: dict[str, Any] = {"iss": key["client_email"], "sub": sub, "scope": GMAIL, "aud": key["token_uri"]}
    claims |= {"iat": now, "exp": now + 3600} | changes
    claims = {name: value for name, value in claims.items() if value is not None}
    return jwt.encode(claims, signing_key, algorithm="RS256", headers=headers)


def _token_request(key: dict[str, str], assertion: str) -> tuple[int, dict[str, Any]]:
    body = f"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion={assertion}".encode()
    request = urllib.request.Request(key["token_uri"], data=body, method="POST")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def _token(key: dict[str, str], sub: str | None) -> str:
    status, answer = _token_request(key, _assertion(key, sub))
    assert status == 200, answer
    return str(answer["access_token"])


def test_a_delegated_service_account_opens_a_users_mailbox(local_provider: control.Instance) -> None:
    domain, key = _domain(), _service_account(local_provider)
    ana = _mailbox(local_provider, domain, messages=2)
    control.grant_delegation(local_provider, domain, key["client_id"], [GMAIL])

    status, answer = _token_request(key, _assertion(key, ana))

    assert status == 200
    assert set(answer) == {"access_token", "expires_in", "token_type"}
    assert (answer["expires_in"], answer["token_type"]) == (3599, "Bearer")
    assert xoauth2_open(local_provider, ana, answer["access_token"]) == 2
    logged = f"token request: mailbox={ana} grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer status=200"
    assert logged in local_provider.http_log.read_text()
    # Google's libraries name Google's own endpoint in `aud` whatever the key file says; that is accepted too.
    assert _token_request(key, _assertion(key, ana, aud="https://oauth2.googleapis.com/token"))[0] == 200


def test_the_key_file_has_googles_fields(local_provider: control.Instance) -> None:
    key = _service_account(local_provider)
    assert key["type"] == "service_account"
    assert key["private_key"].startswith("-----BEGIN PRIVATE KEY-----")
    assert len(key["private_key_id"]) == 40 and int(key["private_key_id"], 16) >= 0
    assert len(key["client_id"]) == 21 and key["client_id"].isdigit()
    assert key["client_email"].endswith("@local-mail.iam.gserviceaccount.com")
    assert key["token_uri"] == local_provider.token_url
    with pytest.raises(control.LocalProviderError, match="not a service account name"):
        control.create_service_account(local_provider, "Bad_Name")


def test_without_a_delegation_or_for_another_scope_the_client_is_unauthorized(
    local_provider: control.Instance,
) -> None:
    domain, other_domain, key = _domain(), _domain(), _service_account(local_provider)
    ana, bo = _mailbox(local_provider, domain), _mailbox(local_provider, other_domain, "bo")
    assert _token_request(key, _assertion(key, ana)) == (401, UNAUTHORIZED_CLIENT)

    control.grant_delegation(local_provider, domain, key["client_id"], "https://www.googleapis.com/auth/calendar")
    assert _token_request(key, _assertion(key, ana)) == (401, UNAUTHORIZED_CLIENT)

    control.grant_delegation(local_provider, domain, key["client_id"], [GMAIL])
    assert _token_request(key, _assertion(key, ana))[0] == 200
    # Another domain's user: that domain's administrator delegated nothing.
    assert _token_request(key, _assertion(key, bo)) == (401, UNAUTHORIZED_CLIENT)


def test_a_user_the_domain_does_not_have_is_an_invalid_email(local_provider: control.Instance) -> None:
    domain, key = _domain(), _service_account(local_provider)
    control.grant_delegation(local_provider, domain, key["client_id"], [GMAIL])
    assert _token_request(key, _assertion(key, f"nobody@{domain}")) == (400, NO_SUCH_USER)


def test_assertions_google_would_refuse(local_provider: control.Instance) -> None:
    domain, key = _domain(), _service_account(local_provider)
    ana = _mailbox(local_provider, domain)
    control.grant_delegation(local_provider, domain, key["client_id"], [GMAIL])
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    now = int(time.time())

    assert _token_request(key, _assertion(key, ana, _signing_key=stranger)) == (400, BAD_SIGNATURE)
    assert _token_request(key, _assertion(key, ana, exp=now + 7200)) == (400, BAD_TIMES)  # two hours
    assert _token_request(key, _assertion(key, ana, iat=now - 7200, exp=now - 3600)) == (400, BAD_TIMES)
    assert _token_request(key, "not-a-jwt") == (400, BAD_SIGNATURE)
    assert _token_request(key, _assertion(key, ana, scope=None)) == (
        400,
        {"error": "invalid_scope", "error_description": "Empty or missing scope not allowed."},
    )
    status, answer = _token_request(key, _assertion(key, ana, aud="https://example.test/token"))
    assert (status, answer["error"]) == (400, "invalid_grant")
    assert answer["error_description"].startswith("Invalid JWT: Failed audience check.")
    unknown = _assertion(key, ana, iss="ghost@local-mail.iam.gserviceaccount.com")
    assert _token_request(key, unknown) == (
        400,
        {"error": "invalid_grant", "error_description": "Invalid grant: account not found"},
    )


def test_a_withdrawn_delegation_refuses_new_tokens_until_it_is_granted_again(
    local_provider: control.Instance,
) -> None:
    domain, key = _domain(), _service_account(local_provider)
    ana = _mailbox(local_provider, domain)
    control.grant_delegation(local_provider, domain, key["client_id"], [GMAIL])
    issued = _token(key, ana)

    said = control.withdraw_delegation(local_provider, domain, key["client_id"])

    assert said == f"{domain} no longer delegates to {key['client_id']}"
    assert _token_request(key, _assertion(key, ana)) == (401, UNAUTHORIZED_CLIENT)
    assert xoauth2_open(local_provider, ana, issued) == 1  # as at Google, an issued token lives out its hour
    control.expire_client_tokens(local_provider, key["client_id"])
    assert "[AUTHENTICATIONFAILED] Invalid credentials" in xoauth2_refused(local_provider, ana, issued)

    control.grant_delegation(local_provider, domain, key["client_id"], [GMAIL])
    assert xoauth2_open(local_provider, ana, _token(key, ana)) == 1
    with pytest.raises(control.LocalProviderError, match="delegates nothing"):
        control.withdraw_delegation(local_provider, _domain(), key["client_id"])


def test_both_keys_work_until_one_is_deleted(local_provider: control.Instance) -> None:
    domain, first = _domain(), _service_account(local_provider)
    ana = _mailbox(local_provider, domain)
    control.grant_delegation(local_provider, domain, first["client_id"], [GMAIL])
    second = control.add_service_account_key(local_provider, first["client_email"])
    assert (second["client_id"], second["client_email"]) == (first["client_id"], first["client_email"])
    assert second["private_key_id"] != first["private_key_id"]
    assert xoauth2_open(local_provider, ana, _token(first, ana)) == 1
    assert xoauth2_open(local_provider, ana, _token(second, ana)) == 1

    control.delete_service_account_key(local_provider, first["client_email"], first["private_key_id"])

    assert _token_request(first, _assertion(first, ana)) == (400, BAD_SIGNATURE)
    assert _token_request(first, _assertion(first, ana, _without_kid=True)) == (400, BAD_SIGNATURE)
    assert xoauth2_open(local_provider, ana, _token(second, ana)) == 1
    # Without `kid` the assertion is checked against every key the account has.
    assert _token_request(second, _assertion(second, ana, _without_kid=True))[0] == 200


def test_the_service_accounts_own_token_opens_no_mailbox(local_provider: control.Instance) -> None:
    domain, key = _domain(), _service_account(local_provider)
    ana = _mailbox(local_provider, domain)
    control.grant_delegation(local_provider, domain, key["client_id"], [GMAIL])
    own = _token(key, None)  # no `sub`: a token for the service account itself, as Google gives one
    assert "[AUTHENTICATIONFAILED] Invalid credentials" in xoauth2_refused(local_provider, ana, own)
