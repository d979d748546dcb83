"""Organisation connections in a real browser, as a company admin sets one up: the key or the app's ids on
Company settings → Organisation connection, the administrator's grants done at Local mail exactly as the
page's generated instructions say (read off the page, so wrong instructions fail the test), Test, channels
added through it (a Microsoft 365 shared mailbox with no delegate among them) and a mailbox the grant does not
cover refused with what would cover it; then the administrator withdraws the grant: one company incident for
the company admins, no prompt for a channel's owner, the channels wait; the grant is restored and every
channel comes back with the mail that arrived meanwhile.

Withdrawing stops new tokens only, as at Google and Microsoft, where issued tokens live out their hour:
`expire_client_tokens` ends that hour, so the next sync meets the withdrawal.
"""

import json
import re
import uuid
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from channels_app.models import (
    Channel,
    ChannelStatus,
    CompanyMembership,
    Message,
    Notification,
    NotificationKind,
    OrganisationConnection,
    ReasonCode,
    Role,
)
from channels_app.services.organisation_channels import NotCovered, organisation_channel_create
from channels_app.services.organisation_tokens import forget_tokens
from localprovider import control
from tests.e2e.test_reauthorization import ALERT, STATUS, _sync, _url
from tests.e2e.widths import sideways_overflow

pytestmark = [pytest.mark.browser, pytest.mark.local_provider, pytest.mark.django_db(transaction=True)]

DOMAIN = "acme.test"
WAITING = "Blocked by the provider's administrator"


@pytest.fixture(autouse=True)
def no_cached_tokens() -> Iterator[None]:
    """Connection ids repeat across transactional tests: no token minted for another test's connection."""
    forget_tokens()
    yield
    forget_tokens()


def _organisation_page(page: Page, company_name: str, provider: str) -> None:
    """Gear icon → the company's settings → Organisation connection, as a company admin finds it."""
    page.click("a.gear")
    page.locator(".sidebar .space-link", has_text=company_name).click()
    page.get_by_test_id(f"nav-organisation-{provider}").click()
    expect(page.locator("h1")).to_contain_text("Organisation connection")


def _test(page: Page, mailbox: str) -> None:
    page.fill("#id_mailbox", mailbox)
    page.get_by_test_id("organisation-test").click()


def _instructions_shot(page: Page, shots, docs: str) -> None:
    """The README's picture of the page: the administrator's generated steps at the top of the window."""
    heading = page.get_by_role("heading", name="2. What your administrator does")
    heading.evaluate("heading => { heading.scrollIntoView(); window.scrollBy(0, -70); }")  # below the sticky header
    shots.take(page, "instructions", docs=docs)
    page.evaluate("window.scrollTo(0, 0)")


def _add_through_connection(page: Page, live_server, workspace_id: int, address: str) -> None:
    """Add channel → "through the organisation connection" → the address → Connect."""
    page.goto(_url(live_server, "workspace:add_channel", workspace_id))
    page.get_by_test_id("through-organisation").get_by_role("link").click()
    page.fill("#id_address", address)
    page.get_by_test_id("connect-organisation").click()


def _connected(page: Page, live_server, address: str) -> Channel:
    channel = Channel.objects.get(address=address)
    page.wait_for_url(_url(live_server, "channel_overview", channel.pk))
    expect(page.locator(".flash-success")).to_contain_text(address)
    return channel


def _member_owning(tenancy, make_user, address: str):
    """A plain member of the company whose own address is `address`."""
    owner = make_user(address)
    CompanyMembership.objects.create(user=owner, company=tenancy.company, role=Role.MEMBER)
    return owner


def _mail(local_provider, address: str, subject: str) -> None:
    control.append_messages(local_provider, address, [control.make_message(recipient=address, subject=subject)])


def _withdrawn_while_mail_arrives(local_provider, channels: list[Channel], boxes: list[str], subject: str) -> None:
    for address in boxes:
        _mail(local_provider, address, subject)
    for channel in channels:
        _sync(channel)
        channel.refresh_from_db()
        assert (channel.status, channel.reason_code) == (ChannelStatus.BLOCKED, ReasonCode.ORGANISATION), channel


def _one_incident_for_the_admins(tenancy) -> Notification:
    incidents = Notification.objects.filter(kind=NotificationKind.ORGANISATION)
    assert list(incidents.values_list("recipient__email", flat=True)) == [tenancy.admin.email]
    assert Notification.objects.filter(resolved_at=None).count() == 1  # no owner was asked anything
    return incidents.get()


def _admin_sees_the_incident(page: Page, live_server, shots, provider: str) -> None:
    alert = page.locator(ALERT)  # the open page polls: no reload
    expect(alert).to_contain_text("organisation connection stopped working")
    expect(alert).to_contain_text("nobody needs to reauthorize")
    shots.take(page, "incident-popup")
    alert.get_by_test_id("view-organisation-connection").click()
    page.wait_for_url(_url(live_server, "organisation_connection", provider))
    expect(page.get_by_test_id("organisation-status")).to_contain_text("waiting for the administrator")


def _owner_is_not_asked(open_page, owner, channel: Channel, live_server, shots) -> Page:
    page = open_page(owner)
    with page.expect_response(re.compile(r"/notifications/popup/")):
        pass  # the owner's open page has asked for its alerts since the failure
    expect(page.locator(ALERT)).to_have_count(0)
    page.goto(_url(live_server, "channel_settings", channel.pk))
    expect(page.locator(STATUS)).to_have_text(WAITING)
    expect(page.get_by_test_id("through-organisation")).to_be_visible()
    expect(page.get_by_test_id("reauthorize")).to_have_count(0)
    expect(page.locator(ALERT)).to_have_count(0)
    shots.take(page, "owner-not-asked")
    return page


def _back_with_missed_mail(
    page: Page, owner_page: Page, live_server, shots, channels: list[Channel], subject: str
) -> None:
    """Every channel active with the missed mail, on its Messages tab (the owner's own one in her browser)."""
    for channel in channels:
        channel_page = owner_page if channel.inbox.owner_id else page
        channel.refresh_from_db()
        assert channel.status == ChannelStatus.ACTIVE, channel
        assert Message.objects.filter(channel=channel, subject=subject).count() == 1
        channel_page.goto(_url(live_server, "channel_overview", channel.pk))
        expect(channel_page.locator(STATUS)).to_have_text("Active")
        channel_page.locator("nav.tabs").get_by_role("link", name="Messages").click()
        expect(channel_page.locator("table.messages tbody tr").filter(has_text=subject)).to_have_count(1)
        shots.take(channel_page, "missed-mail-imported")
    assert not Notification.objects.filter(kind=NotificationKind.ORGANISATION, resolved_at=None).exists()
    page.reload()
    expect(page.locator(ALERT)).to_have_count(0)


# Google Workspace ----------------------------------------------------------------------------------------


def _grant_as_the_google_page_says(page: Page, local_provider) -> str:
    """The super administrator's Domain-wide delegation entry, with the client id and scope the page gives."""
    client_id = page.get_by_test_id("organisation-client-id").inner_text().strip()
    scope = page.get_by_test_id("organisation-scope").inner_text().strip()
    steps = page.get_by_test_id("organisation-steps")
    expect(steps).to_contain_text(f"Client ID: {client_id}")
    expect(steps).to_contain_text(f"OAuth scopes (comma-delimited): {scope}")
    control.grant_delegation(local_provider, DOMAIN, client_id, [s.strip() for s in scope.split(",")])
    return client_id


def test_a_google_workspace_delegation_set_up_from_the_page_is_withdrawn_and_restored(
    tenancy, make_mailbox, make_user, local_provider, open_page, shots, live_server, tmp_path
):
    account = control.create_service_account(local_provider, f"inbox-{uuid.uuid4().hex[:6]}")
    key_file = tmp_path / "service-account.json"
    key_file.write_text(json.dumps(account))
    support, sales, owner_box = (make_mailbox(name, persona="google") for name in ("support", "sales", "dana"))
    stranger = make_mailbox("contractor")  # a mailbox here, but no user of the Google Workspace
    boxes = [support.address, sales.address, owner_box.address]
    for address in boxes:
        _mail(local_provider, address, "Before the withdrawal")

    page = open_page(tenancy.admin)
    _organisation_page(page, tenancy.company.name, "google")
    expect(page.get_by_test_id("organisation-status-value")).to_have_text("Not set up")
    page.set_input_files("#id_key_file", str(key_file))
    page.get_by_test_id("organisation-save").click()
    expect(page.locator(".flash-success")).to_contain_text("Follow the steps below")
    expect(page.get_by_test_id("organisation-client-id")).to_have_text(account["client_id"])

    _test(page, support.address)  # before the administrator's grant: the page says what to grant
    expect(page.locator(".flash-error")).to_contain_text(f"add the client ID {account['client_id']}")
    client_id = _grant_as_the_google_page_says(page, local_provider)
    _test(page, support.address)
    expect(page.locator(".flash-success")).to_contain_text(f"It works: we opened {support.address}")
    expect(page.get_by_test_id("organisation-status-value")).to_have_text("Working")
    expect(page.get_by_test_id("organisation-last-worked")).not_to_have_text("Never")
    expect(page.get_by_test_id("organisation-domains")).to_have_text(DOMAIN)
    shots.take(page, "working")
    assert sideways_overflow(page) == 0
    _instructions_shot(page, shots, "organisation-google")

    channels = []
    for box in (support, sales):
        _add_through_connection(page, live_server, tenancy.workspace.pk, box.address)
        channels.append(_connected(page, live_server, box.address))
    _add_through_connection(page, live_server, tenancy.workspace.pk, stranger.address)
    refusal = page.get_by_test_id("add-organisation-channel")
    expect(refusal).to_contain_text(f"The organisation connection does not cover {stranger.address}")
    expect(refusal).to_contain_text(f"make sure {stranger.address} is a user of the Google Workspace")
    shots.take(page, "not-covered")
    assert not Channel.objects.filter(address=stranger.address).exists()

    owner = _member_owning(tenancy, make_user, owner_box.address)  # adds her own address, in her own inbox
    connection = OrganisationConnection.objects.get(company=tenancy.company)
    channels.append(
        organisation_channel_create(
            actor=owner, workspace=None, connection=connection, address=owner.email, inbox_name="", import_days=0
        )
    )
    for channel in channels:
        assert "ok" in _sync(channel)
        assert Message.objects.filter(channel=channel, subject="Before the withdrawal").exists()

    control.withdraw_delegation(local_provider, DOMAIN, client_id)
    control.expire_client_tokens(local_provider, client_id)
    missed = "Arrived while the delegation was withdrawn"
    _withdrawn_while_mail_arrives(local_provider, channels, boxes, missed)
    _one_incident_for_the_admins(tenancy)
    _admin_sees_the_incident(page, live_server, shots, "google")
    expect(page.get_by_test_id("organisation-status-value")).to_have_text("Needs the administrator")
    shots.take(page, "waiting-for-the-administrator")
    owner_page = _owner_is_not_asked(open_page, owner, channels[2], live_server, shots)

    _grant_as_the_google_page_says(page, local_provider)
    _test(page, sales.address)  # every waiting channel is checked at once and imports what it missed
    expect(page.locator(".flash-success")).to_contain_text(f"It works: we opened {sales.address}")
    expect(page.get_by_test_id("organisation-status-value")).to_have_text("Working")
    _back_with_missed_mail(page, owner_page, live_server, shots, channels, missed)


# Microsoft 365 -------------------------------------------------------------------------------------------

CONSENT_URL = re.compile(
    r"^https://login\.microsoftonline\.com/(?P<tenant>[^/]+)/adminconsent\?client_id=(?P<app>[\w-]+)$"
)
NEW_SERVICE_PRINCIPAL = re.compile(r"^New-ServicePrincipal -AppId (?P<app>[\w-]+) -ObjectId (?P<object>[\w-]+)$")
ADD_PERMISSION = re.compile(
    r'^Add-MailboxPermission -Identity "(?P<mailbox>[^"]+)" -User (?P<object>[\w-]+) -AccessRights FullAccess$'
)


def _consent_as_the_microsoft_page_says(page: Page, local_provider, app: dict[str, str]) -> None:
    """The Global Administrator opens the page's consent link and accepts."""
    link = page.get_by_test_id("organisation-consent-url")
    consent = CONSENT_URL.match(link.inner_text().strip())
    assert consent and consent["tenant"] == app["tenant_id"], link.inner_text()
    assert link.get_attribute("href") == consent.group(0)
    control.grant_admin_consent(local_provider, consent["app"])


def _run_exchange_powershell(local_provider, text: str, service_principals: dict[str, str]) -> list[str]:
    """The Exchange administrator runs the lines at Local mail; `service_principals` maps object ids to apps,
    as Exchange knows them after New-ServicePrincipal. Returns the mailboxes given Full Access."""
    granted = []
    for line in (line.strip() for line in text.splitlines()):
        if not line or line.startswith(("Install-Module ", "Connect-ExchangeOnline ")):
            continue
        if principal := NEW_SERVICE_PRINCIPAL.match(line):
            control.new_service_principal(local_provider, principal["app"], principal["object"])
            service_principals[principal["object"]] = principal["app"]
        elif permission := ADD_PERMISSION.match(line):
            control.add_mailbox_permission(
                local_provider, permission["mailbox"], service_principals[permission["object"]]
            )
            granted.append(permission["mailbox"])
        else:
            raise AssertionError(f"Not a line the instructions should have: {line}")
    return granted


def _permission_line(words: str) -> str:
    line = re.search(r'Add-MailboxPermission -Identity "[^"]+" -User [\w-]+ -AccessRights FullAccess', words)
    assert line, words
    return line.group(0)


def test_microsoft_365_app_access_set_up_from_the_page_with_a_shared_mailbox_is_withdrawn_and_restored(
    tenancy, make_mailbox, make_user, local_provider, open_page, shots, live_server
):
    app = control.register_app(local_provider, DOMAIN)
    support, owner_box = make_mailbox("support", persona="microsoft"), make_mailbox("wes", persona="microsoft")
    orders = control.create_shared_mailbox(local_provider, f"orders-{uuid.uuid4().hex[:8]}@{DOMAIN}")
    boxes = [support.address, orders, owner_box.address]
    for address in boxes:
        _mail(local_provider, address, "Before the withdrawal")

    page = open_page(tenancy.admin)
    _organisation_page(page, tenancy.company.name, "microsoft")
    page.fill("#id_tenant_id", app["tenant_id"])
    page.fill("#id_client_id", app["app_id"])
    page.fill("#id_service_principal_id", app["service_principal_object_id"])
    page.fill("#id_client_secret", app["client_secret"])
    page.get_by_test_id("organisation-save").click()
    expect(page.locator(".flash-success")).to_contain_text("Follow the steps below")

    _test(page, support.address)  # before the administrator's grants: refused, and now the steps name it
    expect(page.locator(".flash-error")).to_contain_text(f"{support.address} could not be opened")
    powershell = page.get_by_test_id("organisation-powershell")
    expect(powershell).to_contain_text(f'Add-MailboxPermission -Identity "{support.address}"')
    _consent_as_the_microsoft_page_says(page, local_provider, app)
    service_principals: dict[str, str] = {}
    granted = _run_exchange_powershell(local_provider, powershell.inner_text(), service_principals)
    assert granted == [support.address]
    _test(page, support.address)
    expect(page.locator(".flash-success")).to_contain_text(f"It works: we opened {support.address}")
    expect(page.get_by_test_id("organisation-status-value")).to_have_text("Working")
    expect(page.get_by_test_id("organisation-last-worked")).not_to_have_text("Never")
    expect(page.get_by_test_id("organisation-domains")).to_have_text(DOMAIN)
    shots.take(page, "working")
    assert sideways_overflow(page) == 0  # the PowerShell's long lines wrap inside the card
    _instructions_shot(page, shots, "organisation-microsoft")

    _add_through_connection(page, live_server, tenancy.workspace.pk, support.address)
    channels = [_connected(page, live_server, support.address)]
    # The shared mailbox has no Full Access for the app yet: refused with the one line that would cover it.
    _add_through_connection(page, live_server, tenancy.workspace.pk, orders)
    form = page.get_by_test_id("add-organisation-channel")
    expect(form).to_contain_text(f"The organisation connection does not cover {orders}")
    line = _permission_line(form.inner_text())
    assert f'"{orders}" -User {app["service_principal_object_id"]}' in line
    shots.take(page, "not-covered")
    assert not Channel.objects.filter(address=orders).exists()
    assert _run_exchange_powershell(local_provider, line, service_principals) == [orders]
    page.get_by_test_id("connect-organisation").click()  # the form kept the address
    channels.append(_connected(page, live_server, orders))
    page.locator("nav.tabs").get_by_role("link", name="Settings").click()
    expect(page.get_by_test_id("organisation-connection")).to_contain_text("no one's sign-in")
    expect(page.get_by_test_id("delegate")).to_have_count(0)  # a shared mailbox, and nobody's delegation

    owner = _member_owning(tenancy, make_user, owner_box.address)
    connection = OrganisationConnection.objects.get(company=tenancy.company)
    with pytest.raises(NotCovered) as refused:
        organisation_channel_create(
            actor=owner, workspace=None, connection=connection, address=owner.email, inbox_name="", import_days=0
        )
    _run_exchange_powershell(local_provider, _permission_line(str(refused.value)), service_principals)
    channels.append(
        organisation_channel_create(
            actor=owner, workspace=None, connection=connection, address=owner.email, inbox_name="", import_days=0
        )
    )
    for channel in channels:
        assert "ok" in _sync(channel)
        assert Message.objects.filter(channel=channel, subject="Before the withdrawal").exists()
    assert not Channel.objects.get(address=orders).delegate_address

    control.withdraw_admin_consent(local_provider, app["app_id"])
    control.expire_client_tokens(local_provider, app["app_id"])
    missed = "Arrived while consent was withdrawn"
    _withdrawn_while_mail_arrives(local_provider, channels, boxes, missed)
    _one_incident_for_the_admins(tenancy)
    _admin_sees_the_incident(page, live_server, shots, "microsoft")
    shots.take(page, "waiting-for-the-administrator")
    owner_page = _owner_is_not_asked(open_page, owner, channels[2], live_server, shots)

    powershell = page.get_by_test_id("organisation-powershell")
    for address in boxes:  # every channel's mailbox is in the page's PowerShell
        expect(powershell).to_contain_text(f'Add-MailboxPermission -Identity "{address}"')
    _consent_as_the_microsoft_page_says(page, local_provider, app)
    _test(page, orders)
    expect(page.locator(".flash-success")).to_contain_text(f"It works: we opened {orders}")
    _back_with_missed_mail(page, owner_page, live_server, shots, channels, missed)
