"""Signing in through the company's identity provider, end to end against Local mail (without a browser)."""

import pytest
from django.test import Client
from django.urls import reverse

from channels_app.models import Role
from localprovider import browser, control
from tests.provider_fixtures import sso_domain

pytestmark = pytest.mark.local_provider

MAILBOX_PASSWORD = "idp-password-1"


@pytest.fixture
def sso_company(tenancy, company_idp, local_provider, make_user, make_company_membership):
    """Acme signs in people of a fresh domain through Local mail; Kim is one of them, with an account here."""
    domain = sso_domain()
    kim = make_user(f"kim@{domain}")
    make_company_membership(user=kim, company=tenancy.company, role=Role.MEMBER)
    control.create_mailbox(local_provider, kim.email, MAILBOX_PASSWORD)
    return company_idp(tenancy.company, domain), kim


def _sign_in_at_the_provider(client: Client, email: str, password: str = MAILBOX_PASSWORD):
    """Our sign-in page with the email only, then the provider's pages; returns our callback's answer."""
    start = client.post(reverse("account_login"), {"login": email, "password": ""})
    assert start.status_code == 302, start.content.decode()[:500]
    callback = browser.authorize_as(start["Location"], email, password)
    return client.get(callback.split("?")[0].removeprefix("http://testserver"), browser.callback_query(callback))


@pytest.mark.django_db
def test_the_email_of_a_company_sign_in_domain_is_sent_to_the_identity_provider_with_a_login_hint(
    sso_company, local_provider
):
    sign_in, kim = sso_company
    start = Client().post(reverse("account_login"), {"login": kim.email.upper(), "password": ""})
    assert start.status_code == 302
    assert start["Location"].startswith(f"{local_provider.base_url}/o/authorize/?")
    query = browser.callback_query(start["Location"])
    assert query["client_id"] == sign_in.client_id
    assert query["login_hint"] == kim.email.upper()
    assert query["code_challenge_method"] == "S256"
    assert set(query["scope"].split()) == {"openid", "profile", "email"}


@pytest.mark.django_db
def test_a_member_of_the_domain_signs_in_through_the_identity_provider(sso_company):
    sign_in, kim = sso_company
    client = Client()
    answer = _sign_in_at_the_provider(client, kim.email)
    assert answer.status_code == 302 and answer["Location"] == "/"
    assert client.get("/").context["user"] == kim
    # The second time the linked identity provider account signs the same person in.
    again = Client()
    assert _sign_in_at_the_provider(again, kim.email)["Location"] == "/"
    assert again.get("/").context["user"] == kim


@pytest.mark.django_db
def test_a_person_of_another_company_with_an_address_at_the_domain_is_refused(
    sso_company, tenancy, local_provider, make_user, make_company_membership
):
    sign_in, kim = sso_company
    domain = kim.email.split("@")[1]
    stranger = make_user(f"lee@{domain}")  # added after the domain was claimed, to another company
    make_company_membership(user=stranger, company=tenancy.outsider.company_membership.company)
    control.create_mailbox(local_provider, stranger.email, MAILBOX_PASSWORD)
    client = Client()
    answer = _sign_in_at_the_provider(client, stranger.email)
    assert answer.status_code == 403
    assert f"{stranger.email} has no account in Acme here" in answer.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_an_account_the_identity_provider_knows_but_we_do_not_is_not_created(sso_company, local_provider):
    sign_in, kim = sso_company
    newcomer = f"new@{kim.email.split('@')[1]}"
    control.create_mailbox(local_provider, newcomer, MAILBOX_PASSWORD)
    client = Client()
    answer = _sign_in_at_the_provider(client, newcomer)
    assert answer.status_code == 403
    assert "Accounts are not created at sign-in" in answer.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_an_identity_provider_that_is_down_gets_a_clear_message_not_an_error(sso_company, settings):
    sign_in, kim = sso_company
    sign_in.issuer_url = "http://127.0.0.1:9"  # nothing listens on the discard port
    sign_in.save()
    settings.SOCIALACCOUNT_REQUESTS_TIMEOUT = 2
    answer = Client().post(reverse("account_login"), {"login": kim.email, "password": ""})
    assert answer.status_code == 503
    assert "identity provider cannot be reached right now" in answer.content.decode()
    assert kim.email in answer.content.decode()  # the address stays in the form
