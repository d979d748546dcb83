"""Add channel: who may add where, and IMAP channels verified by a real login before saving."""

import pytest
from django.urls import reverse

from channels_app import crypto
from channels_app.models import Channel
from tests.error_reports import crash_on_login, crash_report
from tests.network_fakes import listening, record


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


def _imap_post(client, port, **fields):
    data = {"address": "me@example.test", "host": "127.0.0.1", "port": port, "username": "me", "password": "pw"}
    return client.post(reverse("personal:add_imap_channel"), {**data, **fields})


def test_a_host_label_longer_than_63_characters_is_a_form_error(tenancy):
    response = _imap_post(tenancy.client_for(tenancy.member), 993, host="a" * 64 + ".example.com")
    assert response.status_code == 200
    assert "server&#x27;s name" in response.content.decode()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("username", "user\r\nA1 DELETE INBOX"),
        ("username", "user\x00"),
        ("password", "pw\r\nA1 DELETE INBOX"),
        ("password", "pw\tpw"),
        ("address", '"me\x07"@example.test'),
        ("host", "127.0.0.1\r\nA1 DELETE INBOX"),
    ],
)
def test_control_characters_are_a_form_error_and_never_reach_a_server(tenancy, field, value):
    with listening(record) as server:
        response = _imap_post(tenancy.client_for(tenancy.member), server.port, **{field: value})
    assert response.status_code == 200
    assert response.context["form"].errors[field]
    assert server.accepted == 0
    assert not Channel.objects.filter(address="me@example.test").exists()


def test_a_user_name_that_is_not_ascii_is_a_form_error(tenancy):
    with listening(record) as server:
        response = _imap_post(tenancy.client_for(tenancy.member), server.port, username="jürgen")
    assert response.context["form"].errors["username"]
    assert server.accepted == 0


SECRET = "correct-horse-Battery-99"


def test_a_crash_while_signing_in_keeps_the_password_out_of_the_error_report(tenancy, memory_imap, monkeypatch):
    crash_on_login(monkeypatch)
    report = crash_report(
        tenancy.client_for(tenancy.member),
        reverse("personal:add_imap_channel"),
        {
            "address": "me@example.test",
            "host": "127.0.0.1",
            "port": memory_imap.port,
            "username": "me",
            "password": SECRET,
        },
    )
    assert "password_login" in report and "crashing_send" in report
    assert SECRET not in report


def test_a_crash_while_saving_keeps_the_password_out_of_the_error_report(tenancy, memory_imap, monkeypatch):
    class BrokenKeys:
        def encrypt(self, data: bytes) -> bytes:
            raise RuntimeError("a bug")

    monkeypatch.setattr(crypto, "_fernet", BrokenKeys)
    report = crash_report(
        tenancy.client_for(tenancy.member),
        reverse("personal:add_imap_channel"),
        {
            "address": "me@example.test",
            "host": "127.0.0.1",
            "port": memory_imap.port,
            "username": "me",
            "password": SECRET,
        },
    )
    assert "encrypt_json" in report
    assert SECRET not in report
