"""Tokens through an organisation connection, against each provider's recorded answers
(`organisation_token` in <kind>/recorded.json): what is sent, and what every answer means."""

from datetime import UTC, datetime, timedelta

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from channels_app.providers.base import PassingFailure
from channels_app.providers.gmail import delegation
from channels_app.providers.gmail.delegation import KeyFileProblem, parse_key_file
from channels_app.providers.microsoft import app_access
from channels_app.providers.organisation import OrganisationGrantFailure
from channels_app.providers.recorded import recorded_entries
from tests.organisation_fixtures import APP_ID, TENANT, key_file


def app_access_defaults():
    from channels_app.providers.microsoft.provider import MicrosoftProvider

    return MicrosoftProvider.defaults


NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
CASES = [(kind, name) for kind in ("gmail", "microsoft") for name in recorded_entries(kind, "organisation_token")]


def _mint(kind: str, fake, pem: str):
    if kind == "gmail":
        return delegation.mint_token(
            client_email="shared-inbox@acme-mail.iam.gserviceaccount.com",
            private_key_id="key-1",
            private_key=pem,
            token_uri=fake.token_url,
            address="support@acme.test",
            now=NOW,
        )
    return app_access.mint_token(
        token_url_template=fake.token_url, tenant_id=TENANT, client_id=APP_ID, client_secret="s3cret", now=NOW
    )


@pytest.mark.parametrize(("kind", "name"), CASES)
def test_each_recorded_answer_means_what_it_says(kind, name, fake, rsa_pem):
    entry = recorded_entries(kind, "organisation_token")[name]
    fake.answer = entry
    expect = entry["expect"]
    if expect["kind"] == "ok":
        token = _mint(kind, fake, rsa_pem)
        assert token.access_token == entry["body"]["access_token"]
        assert token.expires_at == NOW + timedelta(seconds=expect["expires_in"])
        assert "access_token" not in repr(token) and entry["body"]["access_token"] not in repr(token)
        return
    with pytest.raises(Exception) as raised:
        _mint(kind, fake, rsa_pem)
    failure = raised.value
    assert failure.kind == expect["kind"] and failure.code == expect["code"]
    if expect["kind"] == "policy":
        assert isinstance(failure, OrganisationGrantFailure) and failure.grant == expect["grant"]
        assert "Trace ID" not in failure.provider_words and not failure.provider_words.startswith("AADSTS")
    else:
        assert isinstance(failure, PassingFailure) and failure.retry_after == expect["retry_after"]


def test_google_gets_a_jwt_signed_with_the_key_naming_the_mailbox(fake, rsa_pem):
    fake.answer = recorded_entries("gmail", "organisation_token")["delegated_token"]
    _mint("gmail", fake, rsa_pem)
    posted = fake.posts[-1]
    assert posted["grant_type"] == ["urn:ietf:params:oauth:grant-type:jwt-bearer"]
    assertion = posted["assertion"][0]
    assert jwt.get_unverified_header(assertion) == {"alg": "RS256", "kid": "key-1", "typ": "JWT"}
    public = serialization.load_pem_private_key(rsa_pem.encode(), password=None).public_key()
    claims = jwt.decode(
        assertion,
        public,
        algorithms=["RS256"],
        audience=fake.token_url,
        options={"verify_exp": False, "verify_iat": False},
    )
    assert claims == {
        "iss": "shared-inbox@acme-mail.iam.gserviceaccount.com",
        "sub": "support@acme.test",
        "scope": "https://mail.google.com/",
        "aud": fake.token_url,
        "iat": int(NOW.timestamp()),
        "exp": int(NOW.timestamp()) + 3600,
    }


def test_microsoft_gets_client_credentials_for_outlook(fake, rsa_pem):
    fake.answer = recorded_entries("microsoft", "organisation_token")["app_token"]
    _mint("microsoft", fake, rsa_pem)
    posted = fake.posts[-1]
    assert posted["grant_type"] == ["client_credentials"] and posted["client_id"] == [APP_ID]
    assert posted["scope"] == ["https://outlook.office365.com/.default"] and posted["client_secret"] == ["s3cret"]


def test_the_tenant_takes_its_place_in_microsofts_token_url(settings):
    url = app_access.token_url(app_access_defaults()["APP_TOKEN_URL"], TENANT)
    assert url == f"https://login.microsoftonline.com/{TENANT}/oauth2/v2.0/token"


def test_a_key_that_cannot_sign_is_the_keys_problem(fake):
    with pytest.raises(OrganisationGrantFailure) as raised:
        _mint("gmail", fake, "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n")
    assert raised.value.grant == "key" and not fake.posts


def test_a_key_file_is_read_and_its_secret_never_shown(rsa_pem):
    key = parse_key_file(key_file(rsa_pem))
    assert key.client_id == "109876543210" and key.secret == {"private_key_id": "key-1", "private_key": rsa_pem}
    assert "PRIVATE" not in repr(key)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("not json", "not JSON"),
        ('{"type": "authorized_user"}', "not a service account key"),
        ('{"type": "service_account", "private_key_id": "k"}', "has no private_key, client_email"),
    ],
)
def test_a_file_that_is_no_key_is_refused_in_words(text, words):
    with pytest.raises(KeyFileProblem, match=words):
        parse_key_file(text)


def test_the_generated_instructions_name_this_companys_ids():
    steps = delegation.admin_steps(client_id="109876543210")
    assert "Client ID: 109876543210" in steps and "OAuth scopes (comma-delimited): https://mail.google.com/" in steps
    lines = app_access.powershell_lines(client_id=APP_ID, object_id="oid-1", mailboxes=["shared@acme.test"])
    assert f"New-ServicePrincipal -AppId {APP_ID} -ObjectId oid-1" in lines
    assert 'Add-MailboxPermission -Identity "shared@acme.test" -User oid-1 -AccessRights FullAccess' in lines
    assert app_access.consent_url(tenant_id=TENANT, client_id=APP_ID) == (
        f"https://login.microsoftonline.com/{TENANT}/adminconsent?client_id={APP_ID}"
    )
