"""Sign-in (django-allauth): its attempt limits count in the shared cache, per real client address."""

import pytest
from allauth.account.models import EmailAddress
from django.test import Client
from django.urls import reverse

from channels_app.services.company_sign_in import company_sign_in_save
from tests.conftest import PASSWORD
from tests.network_fakes import closed_port
from tests.test_services_company_sign_in import discovery_server

TOO_MANY = "Too many failed login attempts. Try again later."
WRONG = "The email address and/or password you specified are not correct."


def _sign_in(email: str, password: str, **headers: str) -> str:
    response = Client(**headers).post(reverse("account_login"), {"login": email, "password": password})
    return response.content.decode() if response.status_code == 200 else f"redirect to {response['Location']}"


@pytest.mark.django_db
def test_after_5_wrong_passwords_for_an_account_even_the_right_one_is_refused(tenancy):
    for _ in range(5):
        assert WRONG in _sign_in("member@acme.test", "guess")
    assert TOO_MANY in _sign_in("member@acme.test", PASSWORD)
    assert _sign_in("admin@acme.test", PASSWORD) == "redirect to /"  # other accounts are not locked out


@pytest.mark.django_db
def test_behind_a_trusted_proxy_failures_count_per_client_address(tenancy, settings):
    settings.ACCOUNT_RATE_LIMITS = {"login_failed": "2/m/ip"}
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    balancer = {"REMOTE_ADDR": "10.0.0.2"}
    attacker = {**balancer, "HTTP_X_FORWARDED_FOR": "198.51.100.7, 203.0.113.5"}  # the first hop is forged
    for email in ("a@acme.test", "b@acme.test"):
        assert WRONG in _sign_in(email, "guess", **attacker)
    assert TOO_MANY in _sign_in("member@acme.test", PASSWORD, **attacker)
    colleague = {**balancer, "HTTP_X_FORWARDED_FOR": "203.0.113.6"}
    assert _sign_in("member@acme.test", PASSWORD, **colleague) == "redirect to /"


@pytest.mark.django_db
def test_a_person_cannot_make_an_unverified_address_their_sign_in_or_alert_address(tenancy):
    client = tenancy.client_for(tenancy.member)
    url = reverse("account_email")
    client.post(url, {"action_add": "", "email": "ceo@acme.test"})
    client.post(url, {"action_primary": "", "email": "ceo@acme.test"})
    tenancy.member.refresh_from_db()
    assert tenancy.member.email == "member@acme.test"
    assert not EmailAddress.objects.filter(email="ceo@acme.test").exists()
    assert "redirect" not in _sign_in("ceo@acme.test", PASSWORD)
    assert _sign_in("member@acme.test", PASSWORD) == "redirect to /"


@pytest.mark.django_db
def test_the_email_page_says_who_changes_an_address(tenancy):
    client = tenancy.client_for(tenancy.member)
    response = client.get(reverse("account_email"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "member@acme.test" in body and "ask an admin of your company" in body
    assert "<form" not in body.split("<main", 1)[1]
    assert client.post(reverse("account_email"), {"action_add": "", "email": "x@acme.test"}).status_code == 405


@pytest.fixture
def acme_signs_in_at_its_idp(tenancy):
    sign_in = company_sign_in_save(
        company=tenancy.company,
        issuer_url="https://acme.okta.com",
        client_id="c",
        client_secret="s",
        domains=["acme.test"],
    )
    sign_in.enabled = True  # as after a discovery check (test_services_company_sign_in.py)
    sign_in.save()
    return sign_in


@pytest.mark.django_db
def test_the_right_password_is_refused_where_the_domain_signs_in_at_the_company_s_idp(acme_signs_in_at_its_idp):
    answer = _sign_in("member@acme.test", PASSWORD)
    assert "People at acme.test sign in through Acme&#x27;s identity provider" in answer
    assert "leave the password empty" in answer
    assert WRONG in _sign_in("member@acme.test", "guess")  # a wrong one says only that: no hint who has an account


@pytest.mark.django_db
def test_staff_keep_their_password_so_nobody_is_locked_out(acme_signs_in_at_its_idp, make_user):
    make_user("root@acme.test", is_staff=True)
    assert _sign_in("root@acme.test", PASSWORD) == "redirect to /"


@pytest.mark.django_db
def test_other_domains_and_a_turned_off_sign_in_keep_passwords(acme_signs_in_at_its_idp):
    assert _sign_in("outsider@globex.test", PASSWORD) == "redirect to /"
    acme_signs_in_at_its_idp.enabled = False
    acme_signs_in_at_its_idp.save()
    assert _sign_in("member@acme.test", PASSWORD) == "redirect to /"


@pytest.mark.django_db
def test_an_empty_password_outside_a_company_sign_in_domain_is_still_asked_for(acme_signs_in_at_its_idp):
    assert "This field is required" in _sign_in("outsider@globex.test", "")


@pytest.mark.django_db
def test_starting_company_sign_in_counts_against_the_sign_in_limit_per_address(acme_signs_in_at_its_idp, settings):
    settings.ACCOUNT_RATE_LIMITS = {"login": "2/m/ip"}
    acme_signs_in_at_its_idp.issuer_url = f"http://127.0.0.1:{closed_port()}"  # each start asks it, in vain
    acme_signs_in_at_its_idp.save()
    client = Client()
    answers = [client.post(reverse("account_login"), {"login": "member@acme.test"}).status_code for _ in range(3)]
    assert answers == [503, 503, 429]


@pytest.mark.django_db
def test_allauth_s_own_start_page_for_the_company_s_provider_asks_before_leaving(acme_signs_in_at_its_idp):
    url = reverse("openid_connect_login", kwargs={"provider_id": acme_signs_in_at_its_idp.provider_id})
    client = Client()
    page = client.get(url).content.decode()
    assert "Sign in through Acme" in page and "Continue" in page
    with discovery_server() as issuer:
        acme_signs_in_at_its_idp.issuer_url = issuer
        acme_signs_in_at_its_idp.save()
        assert client.post(url)["Location"].startswith(f"{issuer}/authorize?")
    assert Client().get(reverse("openid_connect_login", kwargs={"provider_id": "company-999"})).status_code == 404
