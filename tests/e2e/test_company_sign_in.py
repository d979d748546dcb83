"""Sign-in through the company's identity provider in a real browser, with Local mail as the provider."""

import re
import uuid

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from channels_app.models import CompanySignIn, Role
from localprovider import control
from tests.conftest import PASSWORD
from tests.e2e.conftest import TIMEOUT_MS, VIEWPORT, watch_csp
from tests.provider_fixtures import sso_domain

pytestmark = [pytest.mark.browser, pytest.mark.local_provider, pytest.mark.django_db(transaction=True)]

MAILBOX_PASSWORD = "idp-password-1"


def _fresh_page(chromium, live_server) -> Page:
    """A browser context with no session, as someone arriving at the sign-in page."""
    context = chromium.new_context(viewport=VIEWPORT, base_url=live_server.url)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    watch_csp(page)
    return page


def _sign_in_with_email_only(page: Page, email: str) -> None:
    page.goto("/accounts/login/")
    page.fill("#id_login", email)
    page.click("form button[type=submit]")  # the password left empty


def _at_the_identity_provider(page: Page, instance: control.Instance, shots, email: str) -> None:
    page.wait_for_url(re.compile(re.escape(instance.base_url)))
    expect(page.locator("input[name=email]")).to_have_value(email)  # our login_hint
    page.fill("input[name=password]", MAILBOX_PASSWORD)
    shots.take(page, "identity-provider-sign-in")
    page.click("button[type=submit]")
    page.click("button[name=allow]")


def test_the_admin_turns_on_company_sign_in_and_a_member_signs_in_through_the_identity_provider(
    tenancy, open_page, chromium, live_server, local_provider, shots, make_user, make_company_membership
):
    domain = sso_domain()
    kim = make_user(f"kim@{domain}", first_name="Kim")
    make_company_membership(user=kim, company=tenancy.company, role=Role.MEMBER)
    control.create_mailbox(local_provider, kim.email, MAILBOX_PASSWORD)
    client_id, secret = f"sso-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    callback = reverse(
        "openid_connect_callback", kwargs={"provider_id": CompanySignIn(company=tenancy.company).provider_id}
    )
    control.register_client(
        local_provider, client_id, secret, [f"http://localhost{callback}", f"http://127.0.0.1{callback}"]
    )

    # The company admin enters the identity provider on the company's Sign-in page and turns it on.
    admin = open_page(tenancy.admin)
    admin.click("a.gear")
    admin.locator(".sidebar .space-menu").get_by_role("link", name="Sign-in").click()
    expect(admin.get_by_test_id("redirect-uri")).to_contain_text(callback)
    admin.fill("#id_domains", domain)
    admin.fill("#id_issuer_url", local_provider.base_url)
    admin.fill("#id_client_id", client_id)
    admin.fill("#id_client_secret", secret)
    admin.get_by_role("button", name="Save").click()
    admin.get_by_test_id("turn-on").click()
    expect(admin.get_by_test_id("sign-in-status")).to_contain_text(f"On: people at {domain} sign in")
    shots.take(admin, "company-sign-in-on")

    # Kim types only the email and signs in at the identity provider.
    page = _fresh_page(chromium, live_server)
    _sign_in_with_email_only(page, kim.email)
    _at_the_identity_provider(page, local_provider, shots, kim.email)
    page.wait_for_url(f"{live_server.url}/")
    expect(page.locator("body")).to_contain_text("Kim")
    shots.take(page, "signed-in")

    # A password for the domain is refused, pointing to the identity provider.
    other = _fresh_page(chromium, live_server)
    other.goto("/accounts/login/")
    other.fill("#id_login", kim.email)
    other.fill("#id_password", PASSWORD)  # the right one
    other.click("form button[type=submit]")
    expect(other.locator("form")).to_contain_text(f"People at {domain} sign in through Acme's identity provider")

    # Someone the identity provider knows but who has no account in Acme is refused, and not signed in.
    newcomer = f"new@{domain}"
    control.create_mailbox(local_provider, newcomer, MAILBOX_PASSWORD)
    _sign_in_with_email_only(other, newcomer)
    _at_the_identity_provider(other, local_provider, shots, newcomer)
    expect(other.get_by_test_id("refusal")).to_contain_text(f"{newcomer} has no account in Acme here")
    shots.take(other, "refused")
    for seen in (page, other):
        assert seen.csp_violations == []
        seen.context.close()
