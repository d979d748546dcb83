"""Gmail and Microsoft 365 as they really answer, in a real browser: Local mail in their personas.

An admin connects a Gmail and a Microsoft 365 channel through the Add channel page and the provider's
own sign-in and consent, mail syncs, access is revoked while mail keeps arriving, the admin
reauthorizes from the pop-up, and the missed mail is imported. Then the provider's administrator blocks
the app (Conditional Access, IMAP turned off), and the pop-up says what to ask IT, not to reauthorize.
"""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from channels_app.models import Channel, ChannelStatus
from localprovider import control
from tests.e2e.test_reauthorization import ALERT, STATUS, _deliver, _sign_in_at_provider, _sync, _url
from tests.provider_fixtures import expire_access_token

pytestmark = [pytest.mark.browser, pytest.mark.local_provider, pytest.mark.django_db(transaction=True)]

PERSONAS = {"gmail": ("google", "Gmail"), "microsoft": ("microsoft", "Microsoft 365")}
# What the provider's administrator does to block us, as each provider answers it.
BLOCKS = {"gmail": ("imap", "imap_disabled"), "microsoft": ("token", "aadsts53003_conditional_access")}


def _connect_in_browser(page: Page, local_provider, shots, tenancy, mailbox, label: str) -> Channel:
    page.goto(reverse("company:add_channel"))
    page.select_option("select[name=workspace]", str(tenancy.workspace.pk))
    shots.take(page, "add-channel")
    page.get_by_role("button", name=f"Connect {label}", exact=True).click()
    page.wait_for_url(re.compile(re.escape(local_provider.base_url)))
    _sign_in_at_provider(page, local_provider, shots, mailbox, expected="")
    page.wait_for_url(re.compile(r"/settings/channels/\d+/$"))
    expect(page.locator(".flash-success")).to_contain_text(f"Connected {mailbox.address}")
    return Channel.objects.get(address=mailbox.address)


@pytest.mark.parametrize("kind", ["gmail", "microsoft"])
def test_a_provider_channel_connects_syncs_loses_access_is_reauthorized_and_gets_its_missed_mail(
    kind, tenancy, make_mailbox, local_provider, open_page, shots, live_server
):
    persona, label = PERSONAS[kind]
    mailbox = make_mailbox("desk", persona=persona)
    page = open_page(tenancy.admin)
    channel = _connect_in_browser(page, local_provider, shots, tenancy, mailbox, label)
    assert channel.provider == kind

    _deliver(local_provider, mailbox, ["First question"])
    assert "imported 1" in _sync(channel)

    control.revoke_tokens(local_provider, mailbox.address)
    _deliver(local_provider, mailbox, ["Missed: one", "Missed: two"])
    assert "auth_failure" in _sync(channel)
    alert = page.locator(ALERT)
    expect(alert).to_contain_text(f"The channel {mailbox.address} needs to be reauthorized")
    shots.take(page, "popup")
    alert.get_by_test_id("view-settings").click()
    page.wait_for_url(_url(live_server, "channel_settings", channel.pk))
    page.get_by_test_id("reauthorize").click()
    # Still signed in at the provider from connecting: it goes straight to its consent page.
    page.wait_for_url(re.compile(re.escape(local_provider.base_url)))
    expect(page.locator("h1")).to_contain_text(f"wants to access your mailbox {mailbox.address}")
    page.click("button[name=allow]")
    page.wait_for_url(_url(live_server, "channel_overview", channel.pk))  # where the import and its receipt are
    expect(page.locator(".flash-success")).to_contain_text(f"{mailbox.address} is active again")
    expect(page.get_by_test_id("receipt")).to_contain_text(re.compile(r"imported 2 messages"))
    shots.take(page, "receipt")
    assert channel.messages.count() == 3

    surface, answer = BLOCKS[kind]
    if surface == "token":
        expire_access_token(Channel.objects.get(pk=channel.pk))
    control.force_answer(local_provider, mailbox.address, surface, answer)
    assert "policy_failure" in _sync(channel)
    expect(alert).to_contain_text("blocked by an administrator")
    expect(alert).to_contain_text("Reauthorizing will not help: ask your IT administrator to")
    page.reload()
    expect(page.locator(STATUS)).to_have_text("Blocked by the provider's administrator")
    shots.take(page, "blocked")

    control.clear_answers(local_provider, mailbox.address)
    assert "ok" in _sync(channel)
    assert Channel.objects.get(pk=channel.pk).status == ChannelStatus.ACTIVE
    page.reload()
    expect(page.locator(ALERT)).to_have_count(0)
