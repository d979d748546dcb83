"""What people see in a real browser when a channel loses access, is reauthorized, or its provider goes down.

The app runs on the live server, the provider is the local OAuth server and Dovecot; "the next sync" is
the test running the task while the pages are open, as a worker would.
"""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from channels_app.models import Backfill, Channel, ChannelEvent, ChannelStatus, Notification, NotificationKind
from channels_app.tasks import sync_channel
from localprovider import control

pytestmark = [pytest.mark.browser, pytest.mark.local_provider, pytest.mark.django_db(transaction=True)]

ALERT = "#alerts [data-testid=alert]"
STATUS = "h1 .status"


def _deliver(instance: control.Instance, mailbox, subjects: list[str]) -> None:
    start = timezone.now() - timedelta(minutes=45)  # arrived over the last 45 minutes
    for i, subject in enumerate(subjects):
        arrived = start + timedelta(minutes=15 * i)
        message = control.make_message(recipient=mailbox.address, subject=subject, date=arrived)
        control.append_messages(instance, mailbox.address, [message], arrived=arrived)


def _sync(channel: Channel) -> str:
    """The next scheduled sync, due now whatever backoff the last one set."""
    Channel.objects.filter(pk=channel.pk).update(next_attempt_at=None)
    return sync_channel(channel.pk)


def _revoke_while_mail_arrives(instance: control.Instance, channel: Channel, mailbox, subjects: list[str]) -> None:
    control.revoke_tokens(instance, mailbox.address)
    _deliver(instance, mailbox, subjects)
    assert "auth_failure" in _sync(channel)
    assert Channel.objects.get(pk=channel.pk).status == ChannelStatus.NEEDS_REAUTH


def _url(live_server, name: str, *args) -> str:
    return f"{live_server.url}{reverse(name, args=args)}"


def _sign_in_at_provider(page: Page, instance: control.Instance, shots, mailbox, *, expected: str) -> None:
    """On the provider's pages: sign in as `mailbox` (the page suggests `expected`) and allow access."""
    page.wait_for_url(re.compile(re.escape(instance.base_url)))
    email = page.locator("input[name=email]")
    expect(email).to_have_value(expected)  # our login_hint
    email.fill(mailbox.address)
    page.fill("input[name=password]", mailbox.password)
    shots.take(page, "provider-sign-in")
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_contain_text(f"wants to access your mailbox {mailbox.address}")
    shots.take(page, "provider-consent")
    page.click("button[name=allow]")  # not text=Allow: "This will allow…" matches too


def _reauthorize(page: Page, instance: control.Instance, shots, mailbox, *, expected: str) -> None:
    page.get_by_test_id("reauthorize").click()
    _sign_in_at_provider(page, instance, shots, mailbox, expected=expected)


def _workspace_channels_via_gear(page: Page, workspace_name: str) -> None:
    """Gear icon → the workspace's settings → Channels, as a person finds them."""
    page.click("a.gear")
    page.locator(".sidebar .space-link", has_text=workspace_name).click()
    page.locator(".sidebar .space-menu").get_by_role("link", name="Channels").click()
    expect(page.locator("h1")).to_contain_text(f"Channels · {workspace_name}")


def test_a_teammate_sees_the_popup_reauthorizes_and_finds_the_missed_mail(
    tenancy, make_mailbox, connect_local, local_provider, open_page, shots, live_server
):
    mailbox = make_mailbox("me")
    channel = connect_local(tenancy.member_channel, mailbox)
    _deliver(local_provider, mailbox, ["Before the revocation"])
    assert "imported 1" in _sync(channel)
    page = open_page(tenancy.member)
    page.reload()  # the teammate is on the home page (without the sign-in notice)
    expect(page.locator(ALERT)).to_have_count(0)
    shots.take(page, "home")

    missed = ["Missed: invoice", "Missed: refund", "Missed: delivery"]
    _revoke_while_mail_arrives(local_provider, channel, mailbox, missed)

    alert = page.locator(ALERT)  # the open page polls: no reload
    expect(alert).to_contain_text(f"The channel {mailbox.address} needs to be reauthorized")
    shots.take(page, "popup")
    page.reload()  # for the README's picture: the card then agrees with the pop-up
    expect(page.locator(".card-warning")).to_contain_text(mailbox.address)
    shots.take(page, "popup-reloaded", docs="popup")
    alert.get_by_test_id("view-settings").click()
    page.wait_for_url(_url(live_server, "channel_settings", channel.pk))
    expect(page.locator(STATUS)).to_have_text("Needs reauthorization")
    expect(page.get_by_test_id("reauthorize")).to_be_visible()
    shots.take(page, "settings", docs="settings-reauthorize")

    _reauthorize(page, local_provider, shots, mailbox, expected=mailbox.address)
    # Back on the Overview, where the import's progress and then its receipt are.
    page.wait_for_url(_url(live_server, "channel_overview", channel.pk))
    expect(page.locator(".flash-success")).to_contain_text(f"{mailbox.address} is active again")
    expect(page.locator(STATUS)).to_have_text("Active")
    expect(page.locator(ALERT)).to_have_count(0)
    shots.take(page, "reauthorized")

    expect(page.get_by_test_id("backfill-progress")).to_have_count(0)  # the import has finished
    receipt = page.get_by_test_id("receipt")
    expect(receipt).to_contain_text(re.compile(r"Reconnected by .* imported 3 messages that arrived between"))
    shots.take(page, "receipt", docs="backfill-receipt")

    page.locator("nav.tabs").get_by_role("link", name="Messages").click()
    rows = page.locator("table.messages tbody tr")
    expect(rows).to_have_count(4)
    for subject in missed:
        expect(rows.filter(has_text=subject)).to_have_count(1)
    shots.take(page, "messages")


def test_a_shared_inbox_warns_the_admin_who_reauthorizes_and_never_a_plain_member(
    tenancy, make_mailbox, connect_local, local_provider, open_page, shots, live_server
):
    mailbox = make_mailbox("support")
    channel = connect_local(tenancy.shared_channel, mailbox)
    admin_page = open_page(tenancy.admin)
    member_page = open_page(tenancy.member)

    _revoke_while_mail_arrives(local_provider, channel, mailbox, ["Missed while revoked"])
    expect(admin_page.locator(ALERT)).to_contain_text(f"The channel {mailbox.address} needs to be reauthorized")
    shots.take(admin_page, "admin-popup")
    admin_page.locator(ALERT).get_by_role("button", name="Dismiss").click()
    expect(admin_page.locator(ALERT)).to_have_count(0)  # for this session; the banner stays
    with member_page.expect_response(re.compile(r"/notifications/popup/")):
        pass  # the member's open page has asked for its alerts since the failure
    expect(member_page.locator(ALERT)).to_have_count(0)
    shots.take(member_page, "member-no-popup")

    _workspace_channels_via_gear(member_page, tenancy.workspace.name)
    expect(member_page.get_by_test_id("attention-banner")).to_contain_text("An admin of this space can fix it")
    member_page.get_by_role("link", name=mailbox.address).first.click()
    member_page.locator("nav.tabs").get_by_role("link", name="Settings").click()
    expect(member_page.locator(STATUS)).to_have_text("Needs reauthorization")
    expect(member_page.get_by_text("You can view this channel")).to_be_visible()
    expect(member_page.get_by_test_id("reauthorize")).to_have_count(0)
    expect(member_page.locator(ALERT)).to_have_count(0)
    shots.take(member_page, "member-settings-no-reauthorize")

    _workspace_channels_via_gear(admin_page, tenancy.workspace.name)
    banner = admin_page.get_by_test_id("attention-banner")
    expect(banner).to_contain_text(f"{mailbox.address} (needs reauthorization)")
    expect(banner.get_by_test_id("reauthorize")).to_be_visible()
    row = admin_page.locator(f"tr[data-channel='{channel.pk}']")
    expect(row.get_by_test_id("row-warning")).to_be_visible()
    shots.take(admin_page, "channels-warning")
    banner.get_by_role("link", name=mailbox.address).click()
    admin_page.wait_for_url(_url(live_server, "channel_settings", channel.pk))
    _reauthorize(admin_page, local_provider, shots, mailbox, expected=mailbox.address)
    admin_page.wait_for_url(_url(live_server, "channel_overview", channel.pk))
    expect(admin_page.locator(".flash-success")).to_contain_text(f"{mailbox.address} is active again")
    expect(admin_page.locator(STATUS)).to_have_text("Active")
    shots.take(admin_page, "reauthorized")

    member_page.reload()
    expect(member_page.locator(STATUS)).to_have_text("Active")
    expect(member_page.locator(ALERT)).to_have_count(0)
    assert not Notification.objects.filter(recipient=tenancy.member).exists()


def test_reauthorizing_with_the_wrong_account_is_refused_naming_both_and_changes_nothing(
    tenancy, make_mailbox, connect_local, local_provider, open_page, shots, live_server
):
    mailbox = make_mailbox("support")
    channel = connect_local(tenancy.shared_channel, mailbox)
    _revoke_while_mail_arrives(local_provider, channel, mailbox, ["Missed while revoked"])
    before = Channel.objects.get(pk=channel.pk)
    events = ChannelEvent.objects.filter(channel=channel).count()
    intruder = make_mailbox("someone")

    page = open_page(tenancy.admin)
    page.goto(_url(live_server, "channel_settings", channel.pk))
    _reauthorize(page, local_provider, shots, intruder, expected=mailbox.address)
    page.wait_for_url(_url(live_server, "channel_settings", channel.pk))
    refusal = page.locator(".flash-error")
    expect(refusal).to_contain_text(f"You signed in as {intruder.address}, but this channel is {mailbox.address}")
    expect(refusal).to_contain_text("Nothing was changed")
    expect(page.locator(STATUS)).to_have_text("Needs reauthorization")
    expect(page.locator(ALERT)).to_contain_text(f"The channel {mailbox.address} needs to be reauthorized")
    shots.take(page, "refused")

    after = Channel.objects.get(pk=channel.pk)
    assert (after.status, after.address) == (ChannelStatus.NEEDS_REAUTH, before.address)
    assert after.credentials_ciphertext == before.credentials_ciphertext
    assert ChannelEvent.objects.filter(channel=channel).count() == events
    assert not Backfill.objects.filter(channel=channel).exists()


def test_an_outage_asks_nobody_to_reauthorize_shows_unreachable_and_recovers_by_itself(
    tenancy, make_mailbox, connect_local, provider_servers, open_page, shots, live_server, settings
):
    settings.UNREACHABLE_GRACE_MINUTES = 0
    mailbox = make_mailbox("support")
    channel = connect_local(tenancy.shared_channel, mailbox)
    page = open_page(tenancy.admin)
    page.goto(_url(live_server, "workspace_channels", tenancy.workspace.pk))
    row = page.locator(f"tr[data-channel='{channel.pk}']")
    expect(row.locator(".status")).to_have_text("Active")
    shots.take(page, "channels-before")

    control.stop_imap(provider_servers)
    for _ in range(2):
        assert "passing_failure" in _sync(channel)
    assert Channel.objects.get(pk=channel.pk).status == ChannelStatus.UNREACHABLE
    assert not Notification.objects.filter(kind=NotificationKind.NEEDS_REAUTH).exists()
    expect(page.locator(ALERT)).to_contain_text(f"The channel {mailbox.address} cannot be reached")
    expect(page.locator("#alerts")).not_to_contain_text("reauthoriz")
    shots.take(page, "popup-unreachable")
    page.reload()
    expect(row.locator(".status")).to_have_text("Unreachable")
    banner = page.get_by_test_id("attention-banner")
    expect(banner).to_contain_text(f"{mailbox.address} (unreachable)")
    expect(banner).to_contain_text("they recover by themselves")
    expect(page.locator("main")).not_to_contain_text(re.compile("reauthoriz", re.IGNORECASE))
    shots.take(page, "channels-unreachable")

    control.start_imap(provider_servers)
    assert "ok" in _sync(channel)
    # The recovery queued a backfill once the sync had let go of the channel; it ran and finished.
    assert Backfill.objects.get(channel=channel).status == "done"
    expect(page.locator(ALERT)).to_have_count(0)  # the open page drops the pop-up by itself
    page.reload()
    expect(row.locator(".status")).to_have_text("Active")
    expect(page.get_by_test_id("attention-banner")).to_have_count(0)
    shots.take(page, "channels-recovered")
