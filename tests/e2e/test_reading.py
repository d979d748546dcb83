"""Reading the pages: long addresses wrap, times show in each person's zone, each tab has its own title."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from channels_app.models import Channel

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1280, "height": 800}
# No space to break at: 300 characters, as in the report that found the page 5,000 px wide.
LONG_ADDRESS = "a" * 287 + "@example.test"


def sideways_scroll(page) -> int:
    """How many pixels the page scrolls sideways (0: none)."""
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


def test_a_300_character_address_wraps_on_every_page_at_phone_and_laptop_width(
    tenancy, make_event, make_message, open_page, shots
):
    assert len(LONG_ADDRESS) == 300
    channel = tenancy.shared_channel
    Channel.objects.filter(pk=channel.pk).update(address=LONG_ADDRESS, status_reason=f"Mail to {LONG_ADDRESS} failed")
    make_event(channel=channel, reason=f"The provider refused {LONG_ADDRESS}")
    make_message(channel=channel, from_address=LONG_ADDRESS, subject="S" * 300)
    urls = [
        reverse("home"),
        reverse("company_channels"),
        reverse("channel_overview", args=[channel.pk]),
        reverse("channel_messages", args=[channel.pk]),
        reverse("channel_settings", args=[channel.pk]),
    ]
    page = open_page(tenancy.admin)
    for size in (PHONE, LAPTOP):
        page.set_viewport_size(size)
        for url in urls:
            page.goto(url)
            expect(page.get_by_text(LONG_ADDRESS).first).to_be_visible()
            assert sideways_scroll(page) == 0, (size["width"], url)
        shots.take(page, f"long-address-{size['width']}")
