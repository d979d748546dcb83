"""Personal settings → Notifications in a browser: a person turns one kind of email off; the next such alert
still pops up, and no email goes out."""

import pytest
from django.core import mail
from playwright.sync_api import expect

from channels_app.models import AlertCategory, NotificationKind
from channels_app.selectors import alert_email_opt_outs
from channels_app.services.notifications import notify_problem
from tests.e2e.widths import LAPTOP, PHONE, sideways_overflow, without_javascript

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_person_turns_off_emails_for_one_kind_and_still_gets_its_popup(tenancy, open_page, shots, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    page = open_page(tenancy.member)
    without_javascript(page)
    page.click("a.gear")
    page.locator(".sidebar .space-link", has_text="Personal settings").click()
    page.locator(".sidebar .space-menu").get_by_role("link", name="Notifications").click()
    expect(page.locator("h1")).to_contain_text("Notifications · Personal settings")
    form = page.get_by_test_id("alert-preferences")
    boxes = form.locator("input[type=checkbox]")
    expect(boxes).to_have_count(4)  # not staff: no staff alerts to choose
    for index in range(4):
        expect(boxes.nth(index)).to_be_checked()
    shots.take(page, "preferences", docs="alert-preferences")

    form.get_by_label("Mail stopped").uncheck()
    form.get_by_role("button", name="Save").click()
    expect(page.locator(".flash-success")).to_contain_text("Saved.")
    expect(form.get_by_label("Mail stopped")).not_to_be_checked()
    expect(form.get_by_label("Reauthorization needed")).to_be_checked()
    assert alert_email_opt_outs(tenancy.member) == {AlertCategory.STOPPED}

    page.set_viewport_size(PHONE)
    assert sideways_overflow(page) == 0
    shots.take(page, "preferences-phone")

    page.set_viewport_size(LAPTOP)
    channel = tenancy.member_channel
    notify_problem(channel=channel, kind=NotificationKind.UNREACHABLE, recipients=[tenancy.member])
    page.goto("/")
    expect(page.locator("#alerts [data-testid=alert]")).to_contain_text(f"The channel {channel.address} cannot be")
    assert [m.to for m in mail.outbox] == []
    notify_problem(channel=channel, kind=NotificationKind.NEEDS_REAUTH, recipients=[tenancy.member])
    assert [m.to for m in mail.outbox] == [[tenancy.member.email]]  # the other kinds still come by email
