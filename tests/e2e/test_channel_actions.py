"""Channel actions in a real browser (issue 15): asked before disconnecting, disconnected channels shown apart,
Remove; each page also at a phone's width, where the page body never scrolls sideways.

The README's pictures of these pages come from here (UPDATE_SCREENSHOTS=1, tests/e2e/widths.py: at_both_widths).
"""

import re
from urllib.parse import urlsplit

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from channels_app.models import Channel, ChannelStatus, Message
from channels_app.services.credentials import channel_credentials
from channels_app.services.reauth_links import link_send
from localprovider import control
from tests.e2e.test_reauthorization import _revoke_while_mail_arrives, _sign_in_at_provider
from tests.e2e.widths import at_both_widths

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

STATUS = "h1 .status"


def _url(live_server, name: str, *args) -> str:
    return f"{live_server.url}{reverse(name, args=args)}"


@pytest.mark.local_provider
def test_disconnect_asks_first_then_the_channel_is_shown_apart_and_can_be_removed(
    tenancy, make_mailbox, connect_local, make_message, open_page, live_server, shots
):
    mailbox = make_mailbox("support")
    channel = connect_local(tenancy.shared_channel, mailbox)
    for uid in (1, 2):
        make_message(channel=channel, uid=uid)
    page = open_page(tenancy.admin, java_script_enabled=False)  # plain forms and links do it all
    page.goto(_url(live_server, "channel_settings", channel.pk))
    page.get_by_test_id("disconnect").click()
    page.wait_for_url(_url(live_server, "channel_disconnect", channel.pk))
    confirm = page.get_by_test_id("confirm-disconnect")
    for stops in ("Mail import:", "Alerts:", "The subscription:", "Our access:"):
        expect(confirm).to_contain_text(stops)
    expect(confirm).to_contain_text("its 2 imported messages stay")
    assert Channel.objects.get(pk=channel.pk).status == ChannelStatus.ACTIVE  # asking changed nothing
    shots.take(page, "confirm-disconnect")
    at_both_widths(page, shots, "confirm-disconnect", docs=True)

    confirm.get_by_test_id("confirm").click()
    page.wait_for_url(_url(live_server, "channel_overview", channel.pk))
    expect(page.locator(".flash-success")).to_contain_text(f"{mailbox.address} is disconnected")
    expect(page.locator(STATUS)).to_have_text("Disconnected")
    note = page.get_by_test_id("disconnected-note")
    expect(note).to_contain_text("nobody is alerted")
    expect(note.get_by_test_id("reconnect")).to_be_visible()
    expect(page.locator(".banner-warning")).to_have_count(0)
    shots.take(page, "disconnected-overview")
    at_both_widths(page, shots, "disconnected-overview")

    page.goto(_url(live_server, "workspace_channels", tenancy.workspace.pk))
    expect(page.get_by_test_id("attention-banner")).to_have_count(0)
    expect(page.locator("main")).not_to_contain_text("needs attention")
    group = page.get_by_test_id("disconnected-group")
    expect(group).to_contain_text(mailbox.address)
    expect(group).to_contain_text("Reconnect or remove")
    row = page.locator(f"tr[data-channel='{channel.pk}']")
    expect(row.get_by_test_id("row-disconnected")).to_be_visible()
    expect(row.get_by_test_id("row-warning")).to_have_count(0)
    shots.take(page, "channels-disconnected")
    at_both_widths(page, shots, "channels-disconnected", docs=True)

    group.get_by_test_id("remove").click()
    page.wait_for_url(_url(live_server, "channel_remove", channel.pk))
    confirm = page.get_by_test_id("confirm-remove")
    expect(confirm).to_contain_text("its 2 imported messages are deleted with the channel")
    shots.take(page, "confirm-remove")
    at_both_widths(page, shots, "confirm-remove", docs=True, phone_docs=True)
    confirm.get_by_role("button", name=re.compile("Remove channel and 2 messages")).click()
    page.wait_for_url(_url(live_server, "workspace_channels", tenancy.workspace.pk))
    expect(page.locator(".flash-success")).to_contain_text(
        f"Removed {mailbox.address}: the inbox Support and its 2 imported messages are deleted."
    )
    expect(page.locator(f"tr[data-channel='{channel.pk}']")).to_have_count(0)
    shots.take(page, "removed")
    assert not Channel.objects.filter(pk=channel.pk).exists()
    assert not Message.objects.filter(channel_id=channel.pk).exists()


@pytest.mark.local_provider
def test_reauthorize_and_send_link_are_right_in_the_warning_and_the_row(
    tenancy, make_mailbox, connect_local, local_provider, open_page, shots, live_server
):
    mailbox = make_mailbox("support")
    channel = connect_local(tenancy.shared_channel, mailbox)
    _revoke_while_mail_arrives(local_provider, channel, mailbox, ["Missed while revoked"])
    channels_url = _url(live_server, "workspace_channels", tenancy.workspace.pk)

    member_page = open_page(tenancy.member)
    member_page.goto(channels_url)
    expect(member_page.get_by_test_id("attention-banner")).to_contain_text("An admin of this space can fix it")
    expect(member_page.get_by_test_id("reauthorize")).to_have_count(0)
    expect(member_page.get_by_test_id("to-send-link")).to_have_count(0)

    page = open_page(tenancy.admin)
    page.goto(channels_url)
    banner = page.get_by_test_id("attention-banner")
    row = page.locator(f"tr[data-channel='{channel.pk}']")
    expect(banner.get_by_test_id("reauthorize")).to_be_visible()
    expect(row.get_by_test_id("reauthorize")).to_be_visible()
    shots.take(page, "channels-warning-with-actions")
    at_both_widths(page, shots, "channels-actions", docs=True, phone_docs=True)

    row.get_by_test_id("to-send-link").click()
    settings_url = _url(live_server, "channel_settings", channel.pk)
    page.wait_for_url(re.compile(re.escape(settings_url) + "#reauthorization-link"))
    expect(page.get_by_test_id("reauthorization-link").locator("input[type=email]")).to_be_visible()
    expect(page.get_by_test_id("banner-reauthorize")).to_be_visible()  # and in the channel's own warning
    at_both_widths(page, shots, "settings-warning-actions")

    page.goto(channels_url)
    banner.get_by_test_id("reauthorize").click()
    _sign_in_at_provider(page, local_provider, shots, mailbox, expected=mailbox.address)
    expect(page.locator(".flash-success")).to_contain_text(f"{mailbox.address} is active again")
    expect(page.locator(STATUS)).to_have_text("Active")
    shots.take(page, "reauthorized-from-the-banner")


@pytest.mark.local_provider
def test_after_reauthorizing_with_a_password_the_person_lands_where_the_import_and_receipt_are(
    tenancy, imap_channel, open_page, shots, live_server
):
    channel = imap_channel()
    Channel.objects.filter(pk=channel.pk).update(status=ChannelStatus.NEEDS_REAUTH, status_reason="Password changed.")
    password = channel_credentials(channel).password
    page = open_page(tenancy.admin)
    page.goto(_url(live_server, "workspace_channels", tenancy.workspace.pk))
    page.get_by_test_id("attention-banner").get_by_test_id("reauthorize").click()
    page.wait_for_url(_url(live_server, "channel_reauthorize_password", channel.pk))
    page.fill("input[name=password]", password)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(_url(live_server, "channel_overview", channel.pk))
    expect(page.locator(".flash-success")).to_contain_text(f"{channel.address} is active again")
    expect(page.locator("nav.tabs a.current")).to_have_text("Overview")
    expect(page.get_by_test_id("receipt")).to_contain_text("Reconnected by")  # the backfill ran and told us
    shots.take(page, "overview-after-password")
    at_both_widths(page, shots, "overview-after-reauthorizing")


@pytest.mark.local_provider
def test_a_link_opened_by_someone_who_sees_the_channel_lands_on_its_overview(
    tenancy, imap_channel, open_page, live_server
):
    channel = imap_channel()
    Channel.objects.filter(pk=channel.pk).update(status=ChannelStatus.NEEDS_REAUTH, status_reason="Password changed.")
    sent = link_send(channel=channel, sender=tenancy.admin, sent_to=tenancy.member.email)
    page = open_page(tenancy.member)  # a member of the workspace holds the mailbox's password
    page.goto(urlsplit(sent.url).path)  # the emailed address names the site; the test runs on the live server
    page.fill("input[name=password]", channel_credentials(channel).password)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(_url(live_server, "channel_overview", channel.pk))
    expect(page.locator(".flash-success")).to_contain_text(f"{channel.address} is active again")
    expect(page.get_by_test_id("receipt")).to_contain_text("Reconnected")


@pytest.mark.local_provider
def test_test_connection_signs_in_now_and_says_what_it_found(
    tenancy, imap_channel, local_provider, open_page, shots, live_server
):
    channel = imap_channel()
    page = open_page(tenancy.admin)
    page.goto(_url(live_server, "channel_settings", channel.pk))
    page.get_by_test_id("test-connection").click()
    expect(page.locator(".flash-success")).to_have_text(
        f"The connection works: we signed in to {channel.address} at IMAP just now."
    )
    expect(page.locator(".flash-success")).to_be_in_viewport()  # the answer is in sight, not scrolled past
    shots.take(page, "connection-works")
    at_both_widths(page, shots, "test-connection-works")

    control.set_password(local_provider, channel.address, "changed-by-the-it-team")
    page.get_by_test_id("test-connection").click()
    expect(page.locator(".flash-error")).to_contain_text("IMAP refused our access:")
    expect(page.locator(".flash-error")).to_be_in_viewport()
    expect(page.locator(STATUS)).to_have_text("Needs reauthorization")  # recorded as any probe's answer
    shots.take(page, "connection-refused")
    at_both_widths(page, shots, "test-connection", docs=True)
    assert Channel.objects.get(pk=channel.pk).events.first().cause == f"Test connection by {tenancy.admin}"


def test_staff_mark_for_reauthorization_tells_people_that_our_support_asked(
    tenancy, make_user, open_page, shots, live_server
):
    staff = make_user("staff@shared-inbox.test", is_staff=True, is_superuser=True)
    admin_page = open_page(tenancy.admin)
    staff_page = open_page(staff)
    staff_page.goto(f"{live_server.url}{reverse('admin:channels_app_channel_changelist')}")
    staff_page.locator(f"input[name=_selected_action][value='{tenancy.shared_channel.pk}']").check()
    staff_page.select_option("select[name=action]", "mark_for_reauthorization")
    staff_page.locator("button[name=index]").click()
    expect(staff_page.locator(".messagelist")).to_contain_text("told that our support asked for it")

    alert = admin_page.locator("#alerts [data-testid=alert]")  # the open page polls
    expect(alert).to_contain_text("Our support team asked for this channel to be reauthorized.")
    expect(alert).not_to_contain_text("revoked")
    admin_page.goto(_url(live_server, "workspace_channels", tenancy.workspace.pk))
    banner = admin_page.get_by_test_id("attention-banner")
    row = admin_page.locator(f"tr[data-channel='{tenancy.shared_channel.pk}']")
    expect(row.get_by_test_id("row-warning")).to_have_text(
        "⚠ Our support team asked for this channel to be reauthorized."
    )
    expect(banner.get_by_test_id("reauthorize")).to_be_visible()
    expect(admin_page.locator("main")).not_to_contain_text("revoked")
    shots.take(admin_page, "staff-asked")
    at_both_widths(admin_page, shots, "channels-staff-asked")


def test_add_channel_shows_a_card_per_provider_and_someone_in_no_company_is_told_why_not(
    tenancy, make_user, open_page, shots, live_server, settings
):
    settings.MAIL_PROVIDERS = {**settings.MAIL_PROVIDERS, "gmail": {}}  # not set up for this app
    page = open_page(tenancy.member)
    page.goto(_url(live_server, "personal_channels"))
    page.get_by_role("link", name="Add channel").click()
    page.wait_for_url(_url(live_server, "personal:add_channel"))
    gmail = page.get_by_test_id("provider-gmail")
    expect(gmail).to_contain_text("A Gmail or Google Workspace mailbox")
    expect(gmail.get_by_test_id("unavailable")).to_have_text("Not set up for this app yet: ask your administrator.")
    expect(gmail.get_by_test_id("connect")).to_have_count(0)
    expect(page.get_by_test_id("provider-local").get_by_test_id("connect")).to_have_text("Connect Local mail")
    expect(page.locator("input[type=radio]")).to_have_count(0)
    shots.take(page, "add-channel-cards")
    at_both_widths(page, shots, "add-channel", docs=True, phone_docs=True)
    page.get_by_test_id("provider-imap").get_by_test_id("connect").click()
    page.wait_for_url(_url(live_server, "personal:add_imap_channel"))

    loner = make_user("loner@example.test")
    page = open_page(loner)
    page.goto(_url(live_server, "personal_channels"))
    page.get_by_role("link", name="Add channel").click()
    expect(page.get_by_test_id("no-company")).to_contain_text("You cannot add a channel yet.")
    expect(page.get_by_test_id("no-company")).to_contain_text("Ask an administrator of your company")
    shots.take(page, "add-channel-no-company")
    at_both_widths(page, shots, "add-channel-no-company")
