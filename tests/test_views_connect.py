"""Add channel: who may add where, and IMAP channels verified by a real login before saving."""

from django.urls import reverse

from channels_app.models import Channel


def test_add_channel_pages_by_space_and_actor(tenancy):
    company_add = reverse("company:add_channel")
    workspace_add = reverse("workspace:add_channel", args=[tenancy.workspace.pk])
    personal_add = reverse("personal:add_channel")
    admin, member, outsider = (tenancy.client_for(u) for u in (tenancy.admin, tenancy.member, tenancy.outsider))
    assert admin.get(company_add).status_code == 200
    assert admin.get(workspace_add).status_code == 200
    assert member.get(company_add).status_code == 404
    assert member.get(workspace_add).status_code == 403
    assert member.get(personal_add).status_code == 200
    assert outsider.get(workspace_add).status_code == 404


def test_local_mail_is_offered_and_unconfigured_gmail_is_not(tenancy, settings):
    settings.MAIL_PROVIDERS = {**settings.MAIL_PROVIDERS, "gmail": {}}
    body = tenancy.client_for(tenancy.member).get(reverse("personal:add_channel")).content.decode()
    assert "Local mail" in body
    assert "Gmail" not in body


def test_oauth_connect_redirects_to_the_provider(tenancy):
    response = tenancy.client_for(tenancy.admin).post(
        reverse("company:add_channel"), {"provider": "local", "workspace": tenancy.workspace.pk, "inbox_name": "Help"}
    )
    assert response.status_code == 302
    assert "/o/authorize/" in response["Location"]


def test_company_add_requires_a_workspace(tenancy):
    response = tenancy.client_for(tenancy.admin).post(reverse("company:add_channel"), {"provider": "local"})
    assert response.status_code == 200
    assert "This field is required" in response.content.decode()


def test_imap_connect_to_a_closed_port_saves_nothing_and_says_why(tenancy):
    before = Channel.objects.count()
    response = tenancy.client_for(tenancy.member).post(
        reverse("personal:add_imap_channel"),
        {"address": "me@example.test", "host": "127.0.0.1", "port": 1, "username": "me", "password": "pw"},
    )
    assert response.status_code == 200
    assert "refused the connection" in response.content.decode()
    assert Channel.objects.count() == before


def test_member_cannot_add_imap_channel_to_workspace(tenancy):
    url = reverse("workspace:add_imap_channel", args=[tenancy.workspace.pk])
    assert tenancy.client_for(tenancy.member).post(url, {}).status_code == 403
