"""Sign-in (django-allauth): its attempt limits count in the shared cache, per real client address."""

import pytest
from allauth.account.models import EmailAddress
from django.test import Client
from django.urls import reverse

from tests.conftest import PASSWORD

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
