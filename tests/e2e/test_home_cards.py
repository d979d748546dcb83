"""The home page's inbox cards in a browser: each says how its inbox is doing and leads where it is read or
fixed, at laptop and phone width."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from channels_app.models import ChannelStatus, Inbox, InboxKind
from tests.e2e.widths import LAPTOP, PHONE, sideways_overflow

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _card(page, inbox_id: int):
    return page.locator(f"[data-testid=inbox-card][data-inbox='{inbox_id}']")


def test_each_inbox_card_says_how_it_is_doing_and_leads_where_it_is_read_or_fixed(
    tenancy, make_inbox, make_channel, open_page, shots, live_server
):
    workspace = tenancy.workspace
    tenancy.shared_channel.__class__.objects.filter(pk=tenancy.shared_channel.pk).update(
        last_synced_at=timezone.now() - timedelta(minutes=3)
    )
    broken = make_channel(
        inbox=make_inbox(workspace=workspace, name="Billing"),
        address="billing@acme.test",
        status=ChannelStatus.NEEDS_REAUTH,
        status_since=timezone.now() - timedelta(hours=5),
    )
    make_channel(
        inbox=make_inbox(workspace=workspace, name="Sales"),
        address="sales@acme.test",
        status=ChannelStatus.UNREACHABLE,
        status_since=timezone.now() - timedelta(minutes=40),
    )
    empty = Inbox.objects.create(company=tenancy.company, kind=InboxKind.SHARED, workspace=workspace, name="Press")

    page = open_page(tenancy.admin)
    expect(page.get_by_test_id("inbox-card")).to_have_count(4)
    expect(_card(page, tenancy.shared_channel.inbox_id)).to_contain_text("Mail is coming in; last sync 3")
    expect(_card(page, broken.inbox_id)).to_contain_text("No new mail since it lost access")
    expect(_card(page, empty.pk)).to_contain_text("No mail account is connected to this inbox.")
    shots.take(page, "home-cards", docs="home-cards")
    page.set_viewport_size(PHONE)
    assert sideways_overflow(page) == 0
    shots.take(page, "home-cards-phone")
    page.set_viewport_size(LAPTOP)

    _card(page, broken.inbox_id).get_by_test_id("card-action").click()
    page.wait_for_url(f"{live_server.url}{reverse('channel_settings', args=[broken.pk])}")
    expect(page.get_by_test_id("reauthorize")).to_be_visible()
    page.go_back()
    _card(page, tenancy.shared_channel.inbox_id).locator(".card-title").click()
    page.wait_for_url(f"{live_server.url}{reverse('channel_overview', args=[tenancy.shared_channel.pk])}")
    page.go_back()
    _card(page, empty.pk).get_by_test_id("card-action").click()
    page.wait_for_url(f"{live_server.url}{reverse('workspace_channels', args=[workspace.pk])}")


def test_a_member_who_cannot_fix_a_channel_is_told_who_can_and_led_to_its_overview(tenancy, open_page, live_server):
    channel = tenancy.shared_channel
    channel.__class__.objects.filter(pk=channel.pk).update(status=ChannelStatus.NEEDS_REAUTH)
    page = open_page(tenancy.member)
    card = _card(page, channel.inbox_id)
    expect(card).to_contain_text("an admin of this inbox must reauthorize it")
    card.get_by_test_id("card-action").click()
    page.wait_for_url(f"{live_server.url}{reverse('channel_overview', args=[channel.pk])}")
