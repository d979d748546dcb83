"""The Content-Security-Policy header (channels_app/csp.py).

Chromium's side: tests/e2e/test_content_security_policy.py."""

import pytest
from django.http import HttpResponse
from django.test import Client, RequestFactory
from django.urls import reverse

from channels_app.csp import ContentSecurityPolicyMiddleware, content_security_policy


def _directives(policy: str) -> dict[str, str]:
    return dict(part.strip().split(" ", 1) for part in policy.split(";"))


@pytest.mark.django_db
def test_every_page_carries_the_policy_and_still_refuses_frames(tenancy):
    for response in (
        Client().get(reverse("account_login")),
        tenancy.client_for(tenancy.member).get(reverse("channel_overview", args=[tenancy.shared_channel.pk])),
        tenancy.client_for(tenancy.member).get(reverse("channel_backfill_progress", args=[tenancy.shared_channel.pk])),
    ):
        directives = _directives(response["Content-Security-Policy"])
        assert directives["default-src"] == directives["script-src"] == directives["style-src"] == "'self'"
        assert directives["img-src"] == "'self' data:"
        assert directives["object-src"] == directives["base-uri"] == directives["frame-ancestors"] == "'none'"
        assert directives["form-action"].startswith("'self'")
        assert response["X-Frame-Options"] == "DENY"


def test_forms_may_lead_to_the_sign_in_pages_of_the_oauth_providers_that_are_set_up(settings):
    settings.LOCAL_PROVIDER_ENABLED = False
    settings.MAIL_PROVIDERS = {
        "gmail": {"CLIENT_ID": "id", "CLIENT_SECRET": "secret"},  # its own authorize URL
        "microsoft": {"CLIENT_ID": "", "CLIENT_SECRET": ""},  # not set up: its sign-in page is no destination
        "local": {"CLIENT_ID": "id", "CLIENT_SECRET": "secret", "AUTHORIZE_URL": "http://127.0.0.1:1/o/authorize/"},
    }
    assert _directives(content_security_policy())["form-action"] == "'self' https://accounts.google.com"
    settings.LOCAL_PROVIDER_ENABLED = True
    assert _directives(content_security_policy())["form-action"] == (
        "'self' http://127.0.0.1:1 https://accounts.google.com"
    )


def test_djangos_own_debug_pages_keep_their_inline_styles(settings):
    settings.DEBUG = True
    middleware = ContentSecurityPolicyMiddleware(lambda request: HttpResponse("Page not found", status=404))
    assert "Content-Security-Policy" not in middleware(RequestFactory().get("/nowhere/"))
    settings.DEBUG = False
    assert "Content-Security-Policy" in middleware(RequestFactory().get("/nowhere/"))
