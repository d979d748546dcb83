from django.urls import reverse

from channels_app.models import ChannelStatus
from tests.query_count import queries_during


def test_anonymous_people_are_sent_to_sign_in(client, tenancy):
    response = client.get(reverse("company_channels"))
    assert response.status_code == 302
    assert reverse("account_login") in response["Location"]


def test_gear_lands_admin_on_company_and_member_on_workspace(tenancy):
    assert tenancy.client_for(tenancy.admin).get(reverse("settings"))["Location"] == reverse("company_channels")
    member_landing = tenancy.client_for(tenancy.member).get(reverse("settings"))["Location"]
    assert member_landing == reverse("workspace_channels", args=[tenancy.workspace.pk])


def test_gear_lands_outsider_without_workspaces_on_personal(make_user, tenancy):
    loner = make_user()
    assert tenancy.client_for(loner).get(reverse("settings"))["Location"] == reverse("personal_channels")


def test_company_channels_page_lists_shared_channels_for_admin(tenancy):
    response = tenancy.client_for(tenancy.admin).get(reverse("company_channels"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "support@acme.test" in body
    assert "member@acme.test" not in body  # individual inboxes live in personal settings


def test_company_channels_page_is_404_for_member_and_outsider(tenancy):
    assert tenancy.client_for(tenancy.member).get(reverse("company_channels")).status_code == 404
    # The outsider is an admin of their own company: they see Globex's page, never Acme's channels.
    response = tenancy.client_for(tenancy.outsider).get(reverse("company_channels"))
    assert response.status_code == 200
    assert "support@acme.test" not in response.content.decode()


def test_workspace_channels_page_for_admin_member_and_outsider(tenancy):
    url = reverse("workspace_channels", args=[tenancy.workspace.pk])
    assert tenancy.client_for(tenancy.admin).get(url).status_code == 200
    member_page = tenancy.client_for(tenancy.member).get(url)
    assert member_page.status_code == 200
    assert "support@acme.test" in member_page.content.decode()
    assert tenancy.client_for(tenancy.outsider).get(url).status_code == 404


def test_missing_workspace_is_404(tenancy):
    assert tenancy.client_for(tenancy.admin).get(reverse("workspace_channels", args=[999_999])).status_code == 404


def test_personal_channels_page_shows_only_own_inboxes(tenancy):
    url = reverse("personal_channels")
    assert "member@acme.test" in tenancy.client_for(tenancy.member).get(url).content.decode()
    assert "member@acme.test" not in tenancy.client_for(tenancy.admin).get(url).content.decode()
    assert "member@acme.test" not in tenancy.client_for(tenancy.outsider).get(url).content.decode()


def test_sidebar_lists_company_workspaces_and_personal(tenancy):
    body = tenancy.client_for(tenancy.admin).get(reverse("company_channels")).content.decode()
    assert "Acme (company)" in body
    assert reverse("workspace_channels", args=[tenancy.workspace.pk]) in body
    assert "Personal settings" in body


def test_needs_reauth_channel_shows_warning_row_and_banner(tenancy):
    tenancy.shared_channel.status = ChannelStatus.NEEDS_REAUTH
    tenancy.shared_channel.status_reason = "Access was revoked or the password was changed."
    tenancy.shared_channel.save()
    body = tenancy.client_for(tenancy.admin).get(reverse("company_channels")).content.decode()
    assert 'data-testid="attention-banner"' in body
    assert 'data-testid="row-warning"' in body
    assert "Access was revoked" in body


def test_active_channel_shows_no_warning(tenancy):
    body = tenancy.client_for(tenancy.admin).get(reverse("company_channels")).content.decode()
    assert "support@acme.test" in body
    assert 'data-testid="attention-banner"' not in body
    assert 'data-testid="row-warning"' not in body


def _add_shared_channels(tenancy, make_inbox, make_channel, count: int, **fields) -> None:
    for _ in range(count):
        make_channel(inbox=make_inbox(workspace=tenancy.workspace), **fields)


def _queries(client, url: str) -> int:
    return queries_during(lambda: client.get(url))


def test_channels_page_does_the_same_queries_for_10_and_120_channels(tenancy, make_inbox, make_channel):
    client = tenancy.client_for(tenancy.admin)
    url = reverse("workspace_channels", args=[tenancy.workspace.pk])
    _add_shared_channels(tenancy, make_inbox, make_channel, 9, status=ChannelStatus.NEEDS_REAUTH)
    few = _queries(client, url)
    assert few > 3  # session, user, memberships, channels…: the count is real
    _add_shared_channels(tenancy, make_inbox, make_channel, 110, status=ChannelStatus.NEEDS_REAUTH)
    assert _queries(client, url) == few


def test_channels_page_is_paginated_and_the_banner_stays_short(tenancy, make_inbox, make_channel, settings):
    settings.CHANNELS_PAGE_SIZE = 5
    _add_shared_channels(tenancy, make_inbox, make_channel, 14, status=ChannelStatus.UNREACHABLE)
    client = tenancy.client_for(tenancy.admin)
    url = reverse("workspace_channels", args=[tenancy.workspace.pk])
    first = client.get(url).content.decode()
    assert first.count('data-testid="row-warning"') == 5
    assert "Page 1 of 3 · 15 channels" in first and "and more" in first
    last = client.get(url, {"page": 3}).content.decode()
    assert last.count("<tr class=") == 5
