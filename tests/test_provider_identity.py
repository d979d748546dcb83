"""Whose account a grant is, and whether it grants mail: ID tokens checked, scopes read as providers write them."""

import time

import pytest
from django.urls import reverse
from jwcrypto import jwk

from channels_app.models import Channel
from channels_app.providers import ConfigurationFailure, Credentials, ScopeNotGranted, get_provider
from tests.test_provider_recorded import _start_connect

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
MS_ISSUER = f"https://issuer.test/{TENANT}/v2.0"


def _microsoft_claims(**overrides):
    claims = {
        "iss": MS_ISSUER,
        "aud": "test-client",
        "tid": TENANT,
        "oid": "00000000-0000-0000-0000-00000000000a",
        "preferred_username": "Support@Contoso.test",
        "email": "someone.else@contoso.test",
        "ver": "2.0",
    }
    return {**claims, **overrides}


def _microsoft_address(fake, **overrides) -> str:
    token = fake.sign_id_token(**_microsoft_claims(**overrides))
    return get_provider("microsoft").account_address(Credentials(access_token="at", id_token=token))


def test_microsoft_names_the_account_by_its_sign_in_name_never_the_mutable_email(fake):
    assert _microsoft_address(fake) == "support@contoso.test"


def test_microsoft_reads_upn_when_an_older_token_has_no_preferred_username(fake):
    assert _microsoft_address(fake, preferred_username=None, upn="Old@Contoso.test") == "old@contoso.test"


@pytest.mark.parametrize(
    ("overrides", "what"),
    [
        ({"aud": "someone-elses-app"}, "aud"),
        ({"iss": "https://issuer.test/another-tenant/v2.0"}, "iss"),
        ({"iss": "https://evil.test/" + TENANT + "/v2.0"}, "iss"),
        ({"exp": int(time.time()) - 3600}, "exp"),
    ],
)
def test_microsoft_refuses_an_id_token_not_meant_for_us(fake, overrides, what):
    with pytest.raises(ConfigurationFailure) as refused:
        _microsoft_address(fake, **overrides)
    assert refused.value.code == f"id_token {what}"


def test_an_id_token_signed_with_another_key_is_refused(fake):
    genuine_key = fake.key
    fake.key = jwk.JWK.generate(kty="RSA", size=2048, kid="test-key")
    forged = fake.sign_id_token(**_microsoft_claims())
    fake.key = genuine_key
    with pytest.raises(ConfigurationFailure) as refused:
        get_provider("microsoft").account_address(Credentials(access_token="at", id_token=forged))
    assert refused.value.code == "id_token signature"


@pytest.mark.parametrize("issuer", ["https://issuer.test", "issuer.test"])
def test_google_names_the_verified_email(fake, issuer):
    token = fake.sign_id_token(iss=issuer, aud="test-client", sub="1", email="Sam@Gmail.test", email_verified=True)
    assert get_provider("gmail").account_address(Credentials(access_token="at", id_token=token)) == "sam@gmail.test"


@pytest.mark.parametrize("verified", [False, None])
def test_google_refuses_an_unverified_email(fake, verified):
    claims = {"iss": "https://issuer.test", "aud": "test-client", "sub": "1", "email": "sam@gmail.test"}
    if verified is not None:
        claims["email_verified"] = verified
    token = fake.sign_id_token(**claims)
    with pytest.raises(ConfigurationFailure) as refused:
        get_provider("gmail").account_address(Credentials(access_token="at", id_token=token))
    assert refused.value.code == "email_verified"


def _token(fake, scope: str, **claims) -> dict:
    return {
        "status": 200,
        "body": {
            "access_token": "access-1",
            "token_type": "Bearer",
            "expires_in": 3599,
            "refresh_token": "refresh-1",
            "scope": scope,
            "id_token": fake.sign_id_token(**claims),
        },
    }


def _connect(client, tenancy, kind):
    state = _start_connect(client, kind, tenancy.workspace)
    return client.get(reverse("oauth_callback"), {"code": "code-1", "state": state}, follow=True)


def test_google_expanding_email_into_its_full_scope_name_connects(fake, tenancy):
    # Google answers https://www.googleapis.com/auth/userinfo.email for `email`; oauthlib calls that a
    # changed scope and raised a bare Warning, which used to end the callback in a 500.
    fake.answer = _token(
        fake,
        "https://mail.google.com/ openid https://www.googleapis.com/auth/userinfo.email",
        iss="https://issuer.test",
        aud="test-client",
        sub="1",
        email="new@gmail.test",
        email_verified=True,
    )
    response = _connect(tenancy.client_for(tenancy.admin), tenancy, "gmail")
    assert response.status_code == 200
    assert Channel.objects.filter(address="new@gmail.test", provider="gmail").exists()


def test_microsoft_not_echoing_offline_access_connects(fake, tenancy):
    fake.answer = _token(fake, "https://outlook.office.com/IMAP.AccessAsUser.All", **_microsoft_claims())
    response = _connect(tenancy.client_for(tenancy.admin), tenancy, "microsoft")
    assert response.status_code == 200
    assert Channel.objects.filter(address="support@contoso.test", provider="microsoft").exists()


def test_a_grant_without_the_mail_scope_is_refused_given_back_and_changes_nothing(fake, tenancy):
    # Google's consent screen lets the person untick mail access; the grant then holds openid and email only.
    fake.answer = _token(
        fake,
        "openid https://www.googleapis.com/auth/userinfo.email",
        iss="https://issuer.test",
        aud="test-client",
        sub="1",
        email="new@gmail.test",
        email_verified=True,
    )
    response = _connect(tenancy.client_for(tenancy.admin), tenancy, "gmail")
    assert "You did not allow access to your mail at Gmail" in response.content.decode()
    assert Channel.objects.count() == 2
    revoked = [post for post in fake.posts if post["path"] == ["/revoke"]]
    assert revoked and revoked[0]["token"] == ["refresh-1"]


def test_exchange_code_raises_scope_not_granted(fake):
    fake.answer = _token(
        fake, "openid email", iss="https://issuer.test", aud="test-client", email="a@b.test", email_verified=True
    )
    with pytest.raises(ScopeNotGranted):
        get_provider("gmail").exchange_code(code="c", redirect_uri="http://127.0.0.1/cb", code_verifier="v" * 50)
