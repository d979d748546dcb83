"""Sign-in (django-allauth): its attempt limits count in the shared cache, per real client address."""

import pytest
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
