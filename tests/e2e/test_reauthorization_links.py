"""A reauthorization link in a real browser: an admin sends it from the Settings tab; the mailbox's holder,
with no account with us, opens it in a browser of their own and reconnects the channel."""

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from channels_app.models import Channel, ChannelStatus, ReauthorizationLink
from channels_app.services.status import channel_set_status
from localprovider import control
from tests.e2e.conftest import TIMEOUT_MS, VIEWPORT, watch_csp

pytestmark = [pytest.mark.browser, pytest.mark.local_provider, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def fresh_browser(chromium, live_server):
    """`fresh_browser()`: a page in a context with no session of ours or the provider's: the holder's."""
    contexts = []

    def open_fresh() -> Page:
        context = chromium.new_context(viewport=VIEWPORT, base_url=live_server.url)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        watch_csp(page)
        return page

    yield open_fresh
    violations = [v for context in contexts for page in context.pages for v in page.csp_violations]
    for context in contexts:
        context.close()
    assert violations == []


def _sign_in_at_provider(page: Page, instance: control.Instance, mailbox, *, expected: str) -> None:
    page.wait_for_url(re.compile(re.escape(instance.base_url)))
    email = page.locator("input[name=email]")
    expect(email).to_have_value(expected)  # the link's login_hint
    email.fill(mailbox.address)
    page.fill("input[name=password]", mailbox.password)
    page.click("button[type=submit]")
    page.click("button[name=allow]")


def _emailed_link() -> str:
    body = mail.outbox[-1].body
    url = re.search(r"https?://\S+/reauthorize/\S+/", body)
    assert url, body
    return urlsplit(url.group(0)).path


def test_a_link_sent_by_an_admin_lets_the_holder_reauthorize_once(
    tenancy, make_mailbox, connect_local, local_provider, open_page, fresh_browser, shots, live_server
):
    holder = make_mailbox("billing")
    channel = connect_local(tenancy.shared_channel, holder)
    control.revoke_tokens(local_provider, holder.address)
    channel_set_status(channel=channel, status=ChannelStatus.NEEDS_REAUTH, reason="Access revoked.", cause="sync task")

    admin = open_page(tenancy.admin)
    admin.goto(reverse("channel_overview", args=[channel.pk]))
    admin.locator("[role=alert]").get_by_test_id("to-send-link").click()  # right in the warning
    section = admin.get_by_test_id("reauthorization-link")
    section.get_by_label("Send a reauthorization link to").fill("it-desk@acme.test")
    shots.take(admin, "link-form")
    section.get_by_test_id("send-link").click()
    expect(admin.locator(".flash-success")).to_contain_text("Sent a reauthorization link to it-desk@acme.test")
    expect(admin.get_by_test_id("open-links")).to_contain_text("it-desk@acme.test")
    assert mail.outbox[-1].to == ["it-desk@acme.test"]
    link_path = _emailed_link()

    # The holder's colleague tries first, signed in as someone else: refused, nothing changed.
    intruder = make_mailbox("colleague")
    wrong = fresh_browser()
    wrong.goto(link_path)
    expect(wrong.get_by_test_id("reauth-link")).to_contain_text("Acme")
    wrong.get_by_test_id("link-sign-in").click()
    _sign_in_at_provider(wrong, local_provider, intruder, expected=holder.address)
    expect(wrong.get_by_test_id("link-refusal")).to_contain_text(f"You signed in as {intruder.address}")
    shots.take(wrong, "link-wrong-account")
    assert Channel.objects.get(pk=channel.pk).status == ChannelStatus.NEEDS_REAUTH

    holder_page = fresh_browser()
    holder_page.goto(link_path)
    expect(holder_page.get_by_test_id("reauth-link")).to_contain_text(f"as {holder.address}")
    shots.take(holder_page, "link-landing", docs="reauthorization-link-landing")
    holder_page.get_by_test_id("link-sign-in").click()
    _sign_in_at_provider(holder_page, local_provider, holder, expected=holder.address)
    expect(holder_page.get_by_test_id("reauth-link-finished")).to_contain_text("Reconnected")
    shots.take(holder_page, "link-done")
    assert Channel.objects.get(pk=channel.pk).status == ChannelStatus.ACTIVE

    admin.reload()
    expect(admin.locator("h1 .status")).to_have_text("Active")
    expect(admin.get_by_test_id("open-links")).to_have_count(0)

    again = fresh_browser()
    again.goto(link_path)
    expect(again.get_by_test_id("reauth-link-unusable")).to_contain_text("already used")


def test_an_expired_link_is_refused(tenancy, make_mailbox, connect_local, open_page, fresh_browser, live_server):
    channel = connect_local(tenancy.shared_channel, make_mailbox("old"))
    admin = open_page(tenancy.admin)
    admin.goto(reverse("channel_settings", args=[channel.pk]))
    admin.get_by_label("Send a reauthorization link to").fill("it-desk@acme.test")
    admin.get_by_test_id("send-link").click()
    expect(admin.locator(".flash-success")).to_be_visible()
    ReauthorizationLink.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    page = fresh_browser()
    page.goto(_emailed_link())
    expect(page.get_by_test_id("reauth-link-unusable")).to_contain_text("expired")
