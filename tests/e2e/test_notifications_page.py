"""The Notifications page in a browser, with JavaScript off: the header counts what is unread, an alert opens
where it is acted on and is read from then on, "Mark all read", older pages."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from channels_app.models import NotificationKind
from tests.e2e.widths import LAPTOP, PHONE, sideways_overflow, without_javascript

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

UNREAD_COUNT = "[data-testid=notifications-link] [data-testid=unread-count]"


def test_a_person_reads_their_alerts_opens_one_and_marks_the_rest_read(
    tenancy, make_inbox, make_channel, make_notification, open_page, shots, live_server, settings
):
    settings.NOTIFICATIONS_PAGE_SIZE = 4
    long_address = f"{'very-long-mailbox-name-' * 5}support@acme.test"
    long_channel = make_channel(inbox=make_inbox(workspace=tenancy.workspace, name="Long"), address=long_address)
    channel = tenancy.shared_channel
    now = timezone.now()
    old = [
        make_notification(
            recipient=tenancy.admin,
            channel=channel,
            kind=NotificationKind.RECOVERED,
            message=f"The channel {channel.address} works again ({i}).",
            created_at=now - timedelta(days=3, hours=i),
            read_at=now - timedelta(days=2),
        )
        for i in range(3)
    ]
    make_notification(
        recipient=tenancy.admin,
        channel=long_channel,
        kind=NotificationKind.UNREACHABLE,
        message=f"The channel {long_address} cannot be reached; we keep trying and will tell you when it is back.",
        created_at=now - timedelta(hours=2),
        resolved_at=now - timedelta(hours=1),  # resolved, still unread: listed here, no longer a pop-up
    )
    needs_you = make_notification(
        recipient=tenancy.admin,
        channel=channel,
        message=f"The channel {channel.address} needs to be reauthorized.",
        created_at=now - timedelta(minutes=5),
    )
    make_notification(recipient=tenancy.member, channel=tenancy.member_channel, message="The member's own")

    page = open_page(tenancy.admin)
    without_javascript(page)
    page.goto("/")
    expect(page.locator(UNREAD_COUNT)).to_have_text(", 2 unread")
    page.get_by_test_id("notifications-link").click()
    expect(page.locator("h1")).to_have_text("Notifications")
    rows = page.get_by_test_id("notification")
    expect(rows).to_have_count(4)
    expect(rows.first).to_contain_text("needs to be reauthorized")
    expect(page.get_by_test_id("unread")).to_have_count(2)
    expect(rows.nth(1)).to_contain_text("Resolved")
    expect(page.locator("#alerts [data-testid=alert]")).to_have_count(1)
    expect(page.locator("main")).not_to_contain_text("The member's own")
    shots.take(page, "notifications", docs="notifications")

    page.set_viewport_size(PHONE)
    assert sideways_overflow(page) == 0
    shots.take(page, "notifications-phone", docs="notifications-phone")
    page.set_viewport_size(LAPTOP)

    rows.first.get_by_role("link").click()
    page.wait_for_url(f"{live_server.url}{reverse('channel_settings', args=[channel.pk])}")
    expect(page.get_by_test_id("reauthorize")).to_be_visible()
    needs_you.refresh_from_db()
    assert needs_you.read_at is not None
    expect(page.locator(UNREAD_COUNT)).to_have_text(", 1 unread")

    page.get_by_test_id("notifications-link").click()
    expect(page.get_by_test_id("unread")).to_have_count(1)
    page.get_by_role("link", name="Older →").click()
    expect(page.get_by_test_id("notification")).to_have_count(1)
    expect(page.locator(".pager")).to_contain_text("Page 2 of 2 · 5 notifications")
    expect(page.get_by_test_id("notification")).to_contain_text(old[2].message)

    page.get_by_test_id("mark-all-read").click()
    expect(page.locator(".flash-success")).to_have_text("Marked 1 notification read.")
    expect(page.get_by_test_id("unread")).to_have_count(0)
    expect(page.locator(UNREAD_COUNT)).to_have_count(0)
