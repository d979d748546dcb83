"""Reading the pages: long addresses wrap, times show in each person's zone, each tab has its own title."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from channels_app.models import Channel, User
from tests.e2e.widths import at_both_widths

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1280, "height": 800}
# No space to break at: 300 characters, as in the report that found the page 5,000 px wide.
LONG_ADDRESS = "a" * 287 + "@example.test"
# A channel's own address is an EmailField (254 characters, RFC 5321's limit, which PostgreSQL enforces): the
# longest one it holds. It is the tail of LONG_ADDRESS, so finding it finds either.
CHANNEL_ADDRESS = LONG_ADDRESS[-254:]


def sideways_scroll(page) -> int:
    """How many pixels the page scrolls sideways (0: none)."""
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


def test_a_300_character_address_wraps_on_every_page_at_phone_and_laptop_width(
    tenancy, make_event, make_message, open_page, shots
):
    assert len(LONG_ADDRESS) == 300
    channel = tenancy.shared_channel
    Channel.objects.filter(pk=channel.pk).update(
        address=CHANNEL_ADDRESS, status_reason=f"Mail to {LONG_ADDRESS} failed"
    )
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
            expect(page.get_by_text(CHANNEL_ADDRESS).first).to_be_visible()
            assert sideways_scroll(page) == 0, (size["width"], url)
        shots.take(page, f"long-address-{size['width']}")


def test_the_time_zone_is_taken_from_the_browser_at_first_sign_in(tenancy, open_page, shots):
    channel = tenancy.shared_channel
    with_zone = open_page(tenancy.admin, timezone_id="Asia/Tokyo")
    # The home page, the first after signing in, posts the zone; the script notes it once answered.
    with_zone.wait_for_function("() => sessionStorage.getItem('time-zone-reported') === 'Asia/Tokyo'")
    assert User.objects.get(pk=tenancy.admin.pk).time_zone == "Asia/Tokyo"
    with_zone.goto(reverse("channel_overview", args=[channel.pk]))
    expect(with_zone.get_by_test_id("zone-note")).to_have_text("Times in Asia/Tokyo (change).")
    assert with_zone.locator("#time-zone-detect").count() == 0  # reported once: the next pages post nothing
    shots.take(with_zone, "overview-in-tokyo")


def test_without_scripts_times_stay_utc_and_the_person_chooses_a_zone_in_personal_settings(tenancy, open_page, shots):
    page = open_page(tenancy.member, java_script_enabled=False, timezone_id="Asia/Tokyo")
    assert User.objects.get(pk=tenancy.member.pk).time_zone == ""
    page.goto(reverse("channel_overview", args=[tenancy.member_channel.pk]))
    expect(page.get_by_test_id("zone-note")).to_have_text("Times in UTC (change).")
    page.get_by_role("link", name="change").click()
    expect(page).to_have_title("Time zone · Personal settings · Shared Inbox")
    page.select_option("#id_time_zone", "America/Los_Angeles")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Times now show in America/Los Angeles.")).to_be_visible()
    assert User.objects.get(pk=tenancy.member.pk).time_zone == "America/Los_Angeles"
    at_both_widths(page, shots, "time-zone", docs=True)


def test_each_channel_tab_has_its_own_title_the_favicon_is_served_and_the_history_reads_as_a_story(
    tenancy, make_event, open_page, shots
):
    channel = tenancy.shared_channel
    make_event(channel=channel, from_status="active", to_status="unreachable", cause="probe task", reason="Timed out.")
    page = open_page(tenancy.admin)
    for tab, title in (
        ("channel_messages", "Messages"),
        ("channel_settings", "Settings"),
        ("channel_overview", "Overview"),
    ):
        page.goto(reverse(tab, args=[channel.pk]))
        expect(page).to_have_title(f"support@acme.test · {title} · Shared Inbox")
    icon = page.locator("link[rel=icon]").get_attribute("href")
    answer = page.request.get(icon)
    assert answer.status == 200 and answer.headers["content-type"].startswith("image/svg")
    history = page.get_by_test_id("history")
    expect(history).to_contain_text("Gmail could not be reached: new mail waits there while we keep trying.")
    expect(history).to_contain_text("Still going on.")
    expect(history).not_to_contain_text("probe task")
    at_both_widths(page, shots, "history", docs=True)
