"""A Microsoft 365 shared mailbox in a real browser: connected through a delegate, the delegate's access
removed (the next sync needs reauthorization, and the alert names the delegate), and reauthorized by a
second delegate who takes over.

The provider is Local mail's `microsoft` persona, which opens a shared mailbox with its delegates' tokens.
"""

import pytest
from playwright.sync_api import expect

from channels_app.models import Channel, ChannelStatus
from localprovider import control
from tests.e2e.test_reauthorization import ALERT, STATUS, _deliver, _sign_in_at_provider, _sync, _url

pytestmark = [pytest.mark.browser, pytest.mark.local_provider, pytest.mark.django_db(transaction=True)]


def test_a_shared_mailbox_connected_through_a_delegate_is_taken_over_by_a_second_delegate(
    tenancy, make_mailbox, local_provider, open_page, shots, live_server
):
    shared = make_mailbox("shared-billing", persona="microsoft")
    dana, wes = make_mailbox("dana", persona="microsoft"), make_mailbox("wes", persona="microsoft")
    for delegate in (dana, wes):
        control.set_delegate(local_provider, shared.address, delegate.address)
    _deliver(local_provider, shared, ["Invoice 1001"])

    page = open_page(tenancy.admin)
    page.goto(_url(live_server, "workspace:add_channel", tenancy.workspace.pk))
    page.fill("#id_shared_address", shared.address)
    page.fill("#id_inbox_name", "Billing")
    shots.take(page, "add-shared-mailbox")
    page.get_by_role("button", name="Connect Microsoft 365").click()
    _sign_in_at_provider(page, local_provider, shots, dana, expected="")  # the delegate signs in as herself
    channel = Channel.objects.get(address=shared.address)
    page.wait_for_url(_url(live_server, "channel_overview", channel.pk))
    expect(page.locator(".flash-success")).to_contain_text(f"Connected {shared.address}")
    page.locator("nav.tabs").get_by_role("link", name="Settings").click()
    expect(page.get_by_test_id("delegate")).to_have_text(f"Opened through delegate {dana.address}")
    shots.take(page, "connected-through-dana")

    # Dana's Full Access is removed at Microsoft: the next sync is refused.
    control.set_delegate(local_provider, shared.address, dana.address, allowed=False)
    assert "auth_failure" in _sync(channel)
    alert = page.locator(ALERT)
    expect(alert).to_contain_text(f"opened through delegate {dana.address}")
    expect(alert).to_contain_text("Any other delegate with Full Access to it can take over by reauthorizing")
    page.reload()
    expect(page.locator(STATUS)).to_have_text("Needs reauthorization")
    shots.take(page, "dana-lost-access")

    page.get_by_test_id("reauthorize").click()
    # Still signed in at the provider as Dana: the admin switches to Wes, the other delegate.
    expect(page.locator("h1")).to_contain_text(f"wants to access your mailbox {dana.address}")
    page.get_by_role("link", name="Not you? Use another account").click()
    _sign_in_at_provider(page, local_provider, shots, wes, expected=dana.address)  # suggested: the last delegate
    page.wait_for_url(_url(live_server, "channel_overview", channel.pk))
    expect(page.locator(".flash-success")).to_contain_text(f"{shared.address} is active again")
    expect(page.locator(STATUS)).to_have_text("Active")
    page.locator("nav.tabs").get_by_role("link", name="Settings").click()
    expect(page.get_by_test_id("delegate")).to_have_text(f"Opened through delegate {wes.address}")
    expect(page.locator(ALERT)).to_have_count(0)
    shots.take(page, "taken-over-by-wes")

    channel.refresh_from_db()
    assert (channel.status, channel.delegate_address) == (ChannelStatus.ACTIVE, wes.address)
    assert ": ok" in _sync(channel)  # Wes's token opens the shared mailbox from now on
    assert channel.messages.filter(subject="Invoice 1001").exists()
