"""Channel health in Chromium: a company admin filters, sorts and exports at laptop and phone width; staff
open the same across companies from Django admin."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from channels_app.models import Channel, ChannelStatus
from tests.e2e.widths import words_split_across_lines

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROWS = "[data-testid=health-table] tbody tr"
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def company(tenancy, make_inbox, make_channel, make_event, make_message):
    """support@ (Gmail, active, with mail), broken@ (Microsoft, down for the last 3 days), quiet@ (IMAP)."""
    inbox = lambda name: make_inbox(workspace=tenancy.workspace, name=name)  # noqa: E731
    broken = make_channel(
        inbox=inbox("Billing"), address="broken@acme.test", provider="microsoft", status=ChannelStatus.NEEDS_REAUTH
    )
    make_event(channel=broken, from_status=ChannelStatus.ACTIVE, created_at=timezone.now() - timedelta(days=3))
    make_channel(inbox=inbox("Sales"), address="quiet@acme.test", provider="imap")
    make_message(channel=tenancy.shared_channel, internal_date=timezone.now() - timedelta(hours=2))
    Channel.objects.update(created_at=timezone.now() - timedelta(days=60))
    return tenancy


def _no_sideways_scroll(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_an_admin_filters_sorts_and_exports_channel_health_at_laptop_and_phone_width(company, open_page, shots):
    page = open_page(company.admin)
    page.goto(reverse("company_channels"))
    page.get_by_role("link", name="Channel health").click()
    rows = page.locator(ROWS)
    expect(rows).to_have_count(3)
    expect(rows.first).to_contain_text("broken@acme.test")  # by address
    expect(page.locator(f"{ROWS}[data-channel]").filter(has_text="broken@acme.test")).to_contain_text(
        "Needs reauthorization"
    )
    shots.take(page, "laptop", docs="channel-health")
    _no_sideways_scroll(page)
    # The table fits its panel at laptop width (nothing to scroll inside it either), without cutting a heading
    # or a value of ours in the middle of a word.
    assert page.evaluate("(s => s.scrollWidth <= s.clientWidth)(document.querySelector('.health-scroll'))")
    assert words_split_across_lines(page, "[data-testid=health-table] :is(th, .words)") == []

    # Sort by uptime, then the other way, by its heading.
    page.get_by_role("link", name="Uptime").click()
    expect(page.locator("th[aria-sort=ascending]")).to_contain_text("Uptime")
    expect(rows.first).to_contain_text("broken@acme.test")
    page.get_by_role("link", name="Uptime").click()
    expect(page.locator("th[aria-sort=descending]")).to_contain_text("Uptime")
    expect(rows.last).to_contain_text("broken@acme.test")

    # Filter by provider; the sort stays.
    page.select_option("select[name=provider]", "imap")
    page.get_by_role("button", name="Show").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("quiet@acme.test")
    page.select_option("select[name=provider]", "")
    page.select_option("select[name=status]", "needs_reauth")
    page.get_by_role("button", name="Show").click()
    expect(rows).to_have_count(1)

    # The export has the rows shown.
    with page.expect_download() as download:
        page.get_by_test_id("health-export").click()
    exported = Path(download.value.path()).read_text()
    assert exported.startswith("Address,") and "broken@acme.test" in exported
    assert "support@acme.test" not in exported and download.value.suggested_filename.endswith(".csv")

    # At phone width: the columns stack, each cell names its column, sorting is in the form.
    page.set_viewport_size(PHONE)
    page.goto(reverse("company_health"))
    expect(rows).to_have_count(3)
    expect(page.get_by_test_id("health-export")).to_be_visible()
    page.select_option("select[name=sort]", "-address")
    page.get_by_role("button", name="Show").click()
    expect(rows.first).to_contain_text("support@acme.test")
    _no_sideways_scroll(page)
    shots.take(page, "phone", docs="channel-health-phone")


def test_staff_open_channel_health_across_companies_from_django_admin(
    company, make_user, make_company, make_workspace, make_inbox, make_channel, open_page, shots
):
    globex = make_company("Globex")
    make_channel(inbox=make_inbox(workspace=make_workspace(globex)), address="help@globex.test")
    page = open_page(make_user(is_staff=True, is_superuser=True))
    page.goto(reverse("admin:channels_app_channel_changelist"))
    page.get_by_role("link", name="Channel health").click()
    rows = page.locator(ROWS)
    expect(rows).to_have_count(5)
    expect(page.locator(ROWS).filter(has_text="help@globex.test")).to_contain_text("Globex")
    shots.take(page, "admin-laptop", docs="channel-health-admin")
    page.set_viewport_size(PHONE)
    page.reload()
    _no_sideways_scroll(page)
    shots.take(page, "admin-phone")
