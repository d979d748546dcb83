"""The main pages under our Content-Security-Policy in Chromium: served with it, and nothing on them refused.

Chromium logs every refusal (an inline script or style, a form sent elsewhere) on the console; `open_page`
keeps those lines for each page (tests/e2e/conftest.py). The OAuth round trips under the same policy are
tests/e2e/test_reauthorization.py.
"""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from channels_app.models import Backfill, BackfillStatus, ChannelStatus

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_main_pages_carry_the_policy_and_chromium_refuses_nothing_on_them(
    tenancy, make_event, make_notification, make_message, open_page, shots
):
    channel = tenancy.shared_channel
    # The busiest pages: an alert pop-up, a progress bar, Contact support with its diagnostics, messages.
    for days in (1, 8, 20):
        make_event(channel=channel, from_status=ChannelStatus.ACTIVE, created_at=timezone.now() - timedelta(days=days))
    make_notification(recipient=tenancy.admin, channel=channel)
    make_message(channel=channel, subject="Invoice <b>42</b>")
    Backfill.objects.create(
        channel=channel,
        status=BackfillStatus.RUNNING,
        total=400,
        imported=100,
        started_at=timezone.now() - timedelta(seconds=10),
        progressed_at=timezone.now(),
    )
    workspace = {"workspace_id": tenancy.workspace.pk}
    urls = [
        reverse("home"),
        reverse("company_channels"),
        reverse("workspace_channels", kwargs=workspace),
        reverse("workspace:add_channel", kwargs=workspace),
        reverse("workspace:add_imap_channel", kwargs=workspace),
        reverse("channel_settings", args=[channel.pk]),
        reverse("channel_messages", args=[channel.pk]),
        reverse("account_email"),
        reverse("channel_overview", args=[channel.pk]),
    ]

    page = open_page(tenancy.admin)  # the sign-in page, then home
    for url in urls:
        response = page.goto(url)
        assert response.status == 200, url
        policy = response.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "style-src 'self'" in policy, url
    expect(page.locator("#alerts [data-testid=alert]")).to_be_visible()
    expect(page.get_by_test_id("diagnostics")).to_be_visible()
    with page.expect_response(lambda answer: "/backfill/" in answer.url):
        pass  # progress.js has redrawn the panel once
    expect(page.locator("progress.progress-bar")).to_have_attribute("value", "25")
    shots.take(page, "overview-under-csp")
    assert page.csp_violations == []
