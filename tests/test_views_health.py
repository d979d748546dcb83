"""The Channel health page and its CSV (company settings), and staff's view of it in Django admin."""

import csv
import io
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from channels_app.models import Channel, ChannelStatus, Role
from tests.query_count import queries_during

PAGE = reverse("company_health")
CSV = reverse("company_health_csv")


def _csv(response) -> list[dict[str, str]]:
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="channel-health')
    return list(csv.DictReader(io.StringIO(response.content.decode())))


# --- who may see it -----------------------------------------------------------------------------------


def test_anonymous_people_are_sent_to_sign_in(client):
    for url in (PAGE, CSV):
        response = client.get(url)
        assert response.status_code == 302 and reverse("account_login") in response["Location"]


def test_a_company_admin_sees_every_shared_channel_and_their_own(tenancy, make_inbox, make_channel):
    own = make_channel(inbox=make_inbox(owner=tenancy.admin), address="admin@acme.test")
    response = tenancy.client_for(tenancy.admin).get(PAGE)
    assert response.status_code == 200
    body = response.content.decode()
    assert "support@acme.test" in body and own.address in body
    # Another person's individual inbox stays theirs, as on every page.
    assert "member@acme.test" not in body
    assert 'aria-current="page">Channel health' in body


def test_a_member_of_the_company_gets_404(tenancy):
    client = tenancy.client_for(tenancy.member)
    assert client.get(PAGE).status_code == 404
    assert client.get(CSV).status_code == 404


def test_someone_without_a_company_gets_404(make_user, tenancy):
    client = Client()
    client.force_login(make_user())
    assert client.get(PAGE).status_code == 404
    assert client.get(CSV).status_code == 404


def test_an_admin_of_another_company_never_sees_this_one(tenancy):
    client = tenancy.client_for(tenancy.outsider)
    assert "support@acme.test" not in client.get(PAGE).content.decode()
    assert all(row["Address"] != "support@acme.test" for row in _csv(client.get(CSV)))


def test_the_sidebar_offers_the_page_to_company_admins_only(tenancy):
    link = f'href="{PAGE}"'
    assert link in tenancy.client_for(tenancy.admin).get(reverse("company_channels")).content.decode()
    member_page = reverse("workspace_channels", args=[tenancy.workspace.pk])
    assert link not in tenancy.client_for(tenancy.member).get(member_page).content.decode()


# --- filter, sort, columns --------------------------------------------------------------------------


@pytest.fixture
def three(tenancy, make_inbox, make_channel, make_event):
    """support@ (gmail, active), broken@ (microsoft, needs reauth for 3 days less an hour), idle@ (imap, active)."""
    inbox = lambda: make_inbox(workspace=tenancy.workspace)  # noqa: E731
    broken = make_channel(
        inbox=inbox(), address="broken@acme.test", provider="microsoft", status=ChannelStatus.NEEDS_REAUTH
    )
    down_since = timezone.now() - timedelta(days=3, hours=-1)
    make_event(channel=broken, from_status=ChannelStatus.ACTIVE, created_at=down_since)
    make_channel(inbox=inbox(), address="idle@acme.test", provider="imap")
    Channel.objects.update(created_at=timezone.now() - timedelta(days=60))
    return tenancy


def _addresses(body: str) -> list[str]:
    return [a for a in ("broken@acme.test", "idle@acme.test", "support@acme.test") if a in body]


def _order(body: str) -> list[str]:
    return sorted(_addresses(body), key=body.index)


def test_rows_show_status_delivery_incidents_and_uptime(three):
    body = three.client_for(three.admin).get(PAGE).content.decode()
    assert _order(body) == ["broken@acme.test", "idle@acme.test", "support@acme.test"]
    assert "Needs reauthorization" in body
    assert "90.1 %" in body  # 71 hours down in 30 days
    assert "Polling every" in body


def test_the_provider_is_named_under_the_address_and_sorted_by_the_form(three):
    """Seven columns fit a laptop's settings panel; the provider rides on the address's details line."""
    response = three.client_for(three.admin).get(PAGE, {"sort": "provider"})
    body = response.content.decode()
    assert [c["label"] for c in response.context["columns"]] == [
        "Address", "Status", "Receives mail by", "Last mail seen", "Incidents", "Uptime", "Expires next"
    ]  # fmt: skip
    assert '<span class="words">Microsoft 365</span>' in body
    assert '<option value="provider" selected>Provider</option>' in body
    assert _order(body) == ["support@acme.test", "idle@acme.test", "broken@acme.test"]  # Gmail, IMAP, Microsoft 365


def test_filter_by_status_and_provider(three):
    client = three.client_for(three.admin)
    assert _addresses(client.get(PAGE, {"status": "needs_reauth"}).content.decode()) == ["broken@acme.test"]
    assert _addresses(client.get(PAGE, {"provider": "imap"}).content.decode()) == ["idle@acme.test"]
    empty = client.get(PAGE, {"status": "blocked"}).content.decode()
    assert _addresses(empty) == [] and "No channels match this filter" in empty


def test_sort_by_a_column_and_back(three):
    client = three.client_for(three.admin)
    by_uptime = client.get(PAGE, {"sort": "uptime"}).content.decode()
    assert _order(by_uptime)[0] == "broken@acme.test"
    by_address_down = client.get(PAGE, {"sort": "-address"}).content.decode()
    assert _order(by_address_down) == ["support@acme.test", "idle@acme.test", "broken@acme.test"]
    # The sorted heading turns the other way and keeps the filter.
    filtered = client.get(PAGE, {"sort": "incidents", "status": "active"}).content.decode()
    assert 'href="?status=active&amp;sort=-incidents"' in filtered
    assert 'aria-sort="ascending"' in filtered


def test_export_link_keeps_filter_and_sort(three):
    body = three.client_for(three.admin).get(PAGE, {"provider": "imap", "sort": "-uptime"}).content.decode()
    assert f'href="{CSV}?provider=imap&amp;sort=-uptime"' in body


def test_unknown_filter_values_show_everything(three):
    body = three.client_for(three.admin).get(PAGE, {"status": "<script>", "sort": "secret"}).content.decode()
    assert len(_addresses(body)) == 3 and "<script>" not in body


def test_pages_keep_filter_and_sort(three, settings):
    settings.CHANNELS_PAGE_SIZE = 2
    client = three.client_for(three.admin)
    first = client.get(PAGE, {"sort": "-address"}).content.decode()
    assert "Page 1 of 2 · 3 channels" in first and 'href="?sort=-address&amp;page=2"' in first
    assert _addresses(client.get(PAGE, {"sort": "-address", "page": 2}).content.decode()) == ["broken@acme.test"]


# --- CSV ------------------------------------------------------------------------------------------------


def test_csv_has_the_rows_of_the_page_with_the_same_filter_and_sort(three):
    rows = _csv(three.client_for(three.admin).get(CSV, {"sort": "-address"}))
    assert [r["Address"] for r in rows] == ["support@acme.test", "idle@acme.test", "broken@acme.test"]
    broken = rows[2]
    assert broken["Status"] == "Needs reauthorization"
    assert broken["Incidents (30 days)"] == "1" and broken["Uptime (30 days)"] == "90.1 %"
    filtered = _csv(three.client_for(three.admin).get(CSV, {"provider": "imap"}))
    assert [r["Address"] for r in filtered] == ["idle@acme.test"]


def test_csv_cells_cannot_run_as_formulas(tenancy):
    inbox = tenancy.shared_channel.inbox
    inbox.name = '=HYPERLINK("http://evil.test","click")'
    inbox.save()
    tenancy.workspace.name = "+SUM(1,2)"
    tenancy.workspace.save()
    tenancy.company.name = "@evil"
    tenancy.company.save()
    raw = tenancy.client_for(tenancy.admin).get(CSV).content.decode()
    (row,) = _csv(tenancy.client_for(tenancy.admin).get(CSV))
    assert row["Inbox"] == '\'=HYPERLINK("http://evil.test","click")'
    assert row["Workspace"] == "'+SUM(1,2)" and row["Company"] == "'@evil"
    assert "\n=" not in raw and ",=" not in raw and ",+" not in raw and ",@" not in raw


# --- queries ------------------------------------------------------------------------------------------


def _grow_to(tenancy, make_inbox, make_channel, make_event, make_message, total: int) -> None:
    """Channels of every kind of row: with mail, incidents and a status change before the window."""
    while Channel.objects.filter(inbox__company=tenancy.company).count() - 1 < total:
        channel = make_channel(inbox=make_inbox(workspace=tenancy.workspace), provider="microsoft")
        make_message(channel=channel, internal_date=timezone.now())
        make_event(channel=channel, created_at=timezone.now() - timedelta(days=40))
        make_event(channel=channel, from_status=ChannelStatus.NEEDS_REAUTH, to_status=ChannelStatus.ACTIVE)


@pytest.mark.parametrize("url", [PAGE, CSV])
def test_the_same_queries_for_1_10_and_50_channels(tenancy, make_inbox, make_channel, make_event, make_message, url):
    client = tenancy.client_for(tenancy.admin)
    counts = []
    for total in (1, 10, 50):
        _grow_to(tenancy, make_inbox, make_channel, make_event, make_message, total)
        counts.append(queries_during(lambda: client.get(url, {"sort": "uptime"})))
    assert counts[0] > 3  # session, user, membership, channels, events: the count is real
    assert counts == [counts[0]] * 3


# --- staff, in Django admin -------------------------------------------------------------------------

ADMIN_PAGE = reverse("admin:channels_app_channel_health")
ADMIN_CSV = reverse("admin:channels_app_channel_health_csv")


@pytest.fixture
def staff(make_user) -> Client:
    client = Client()
    client.force_login(make_user(is_staff=True, is_superuser=True))
    return client


def test_staff_see_every_company_and_its_name(staff, tenancy, make_company, make_workspace, make_inbox, make_channel):
    globex = make_company("Globex")
    make_channel(inbox=make_inbox(workspace=make_workspace(globex)), address="help@globex.test")
    body = staff.get(ADMIN_PAGE).content.decode()
    assert all(a in body for a in ("support@acme.test", "member@acme.test", "help@globex.test"))
    assert "Globex" in body and "Acme" in body
    assert f'href="{ADMIN_CSV}?sort=address"' in body
    companies = {r["Company"] for r in _csv(staff.get(ADMIN_CSV))}
    assert companies == {"Acme", "Globex"}


def test_staff_filter_the_same_way(staff, three):
    assert _addresses(staff.get(ADMIN_PAGE, {"status": "needs_reauth"}).content.decode()) == ["broken@acme.test"]


def test_the_channel_list_links_to_it(staff, tenancy):
    assert f'href="{ADMIN_PAGE}"' in staff.get(reverse("admin:channels_app_channel_changelist")).content.decode()


def test_staff_without_the_channel_view_permission_are_refused(make_user, tenancy):
    client = Client()
    client.force_login(make_user(is_staff=True))
    assert client.get(ADMIN_PAGE).status_code == 403
    assert client.get(ADMIN_CSV).status_code == 403


def test_staff_with_the_view_permission_may_look(make_user, tenancy):
    user = make_user(is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_channel"))
    client = Client()
    client.force_login(user)
    assert client.get(ADMIN_PAGE).status_code == 200


def test_people_who_are_not_staff_are_sent_to_the_admin_sign_in(tenancy):
    response = tenancy.client_for(tenancy.admin).get(ADMIN_PAGE)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_the_admin_view_does_constant_queries(staff, tenancy, make_inbox, make_channel, make_event, make_message):
    counts = []
    for total in (1, 10, 50):
        _grow_to(tenancy, make_inbox, make_channel, make_event, make_message, total)
        counts.append(queries_during(lambda: staff.get(ADMIN_PAGE)))
    assert counts == [counts[0]] * 3


def test_role_is_what_decides(tenancy):
    membership = tenancy.member.company_membership
    membership.role = Role.ADMIN
    membership.save()
    assert tenancy.client_for(tenancy.member).get(PAGE).status_code == 200
