"""Add channel: who may add where, and IMAP channels verified by a real login before saving."""

from contextlib import nullcontext

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from channels_app import crypto
from channels_app.forms import ImapConnectForm
from channels_app.models import Channel
from channels_app.providers import ImapSecurity
from tests.error_reports import crash_on_login, crash_report
from tests.network_fakes import close_at_once, closed_port, dribble, garbage, listening, record, stall
from tests.tls_fakes import tls_imap


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


def _card(body: str, kind: str) -> str:
    return body.split(f'data-testid="provider-{kind}"', 1)[1].split("</li>", 1)[0]


def test_each_provider_is_a_card_and_an_unconfigured_one_says_why_it_cannot_be_chosen(tenancy, settings):
    settings.MAIL_PROVIDERS = {**settings.MAIL_PROVIDERS, "gmail": {}}
    body = tenancy.client_for(tenancy.member).get(reverse("personal:add_channel")).content.decode()
    local = _card(body, "local")
    assert "Local mail" in local and 'name="provider" value="local"' in local and "Connect Local mail" in local
    gmail = _card(body, "gmail")
    assert "A Gmail or Google Workspace mailbox" in gmail
    assert "Not set up for this app yet: ask your administrator." in gmail and 'name="provider"' not in gmail
    imap = _card(body, "imap")
    assert "Any other mail server" in imap and f'href="{reverse("personal:add_imap_channel")}"' in imap
    assert 'type="radio"' not in body


def test_the_development_stand_in_is_not_listed_when_it_is_not_set_up(tenancy, settings):
    settings.MAIL_PROVIDERS = {**settings.MAIL_PROVIDERS, "local": {}}
    body = tenancy.client_for(tenancy.member).get(reverse("personal:add_channel")).content.decode()
    assert 'data-testid="provider-local"' not in body and 'data-testid="provider-gmail"' in body


def test_someone_in_no_company_is_told_why_they_cannot_add_a_channel_and_whom_to_ask(make_user):
    from django.test import Client

    loner = make_user("loner@example.test")
    client = Client()
    client.force_login(loner)
    for url in (reverse("personal:add_channel"), reverse("personal:add_imap_channel")):
        response = client.get(url)
        assert response.status_code == 200
        text = response.content.decode()
        assert "You cannot add a channel yet." in text and "Ask an administrator" in text
    posted = client.post(reverse("personal:add_channel"), {"provider": "local", "inbox_name": "Mine"})
    assert posted.status_code == 200 and "You cannot add a channel yet." in posted.content.decode()
    assert not Channel.objects.exists()


def test_add_channel_offers_how_far_back_to_import_the_setting_first(tenancy, settings):
    settings.FIRST_IMPORT_DAYS = 30
    for url in (reverse("personal:add_channel"), reverse("personal:add_imap_channel")):
        body = tenancy.client_for(tenancy.member).get(url).content.decode()
        assert "Import mail that arrived in" in body and "Older mail stays at the provider" in body
        assert '<option value="30" selected>the last 30 days</option>' in body
        assert '<option value="0">everything' in body


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


# The local and in-memory servers speak plain IMAP on loopback.
PLAIN = {"security": "none", "confirm_unencrypted": "on"}
SECRET = "correct-horse-Battery-99"


def _imap_form(port, **fields):
    data = {"address": "me@example.test", "host": "127.0.0.1", "port": port, "username": "me", "password": "pw"}
    return {**data, **PLAIN, **fields}


def _imap_post(client, port, **fields):
    return client.post(reverse("personal:add_imap_channel"), _imap_form(port, **fields))


def _form_error(response) -> str:
    assert response.status_code == 200
    (error,) = response.context["form"].non_field_errors()
    return error


NEUTRAL = (
    "Could not sign in to a mail server at {host}:{port} with these details. Check the server name, port and security."
)


@pytest.mark.parametrize(
    ("behaviour", "security"),
    [
        (None, "none"),  # nothing listens: refused
        (stall, "none"),
        (close_at_once, "none"),
        (garbage, "none"),
        (garbage, "tls"),
        (stall, "tls"),
        (close_at_once, "starttls"),
        (dribble, "none"),
    ],
)
def test_every_way_a_connection_fails_reads_the_same(tenancy, settings, allow_port, behaviour, security):
    settings.IMAP_TIMEOUT_SECONDS = 1
    settings.IMAP_LOGIN_DEADLINE_SECONDS = 0.5
    client = tenancy.client_for(tenancy.member)
    with listening(behaviour) if behaviour else nullcontext() as server:
        port = allow_port(server.port if server else closed_port())
        response = _imap_post(client, port, security=security)
    assert _form_error(response) == NEUTRAL.format(host="127.0.0.1", port=port)
    assert not Channel.objects.filter(address="me@example.test").exists()


def test_an_address_we_do_not_connect_to_reads_the_same_as_a_refusal(tenancy, settings, allow_port):
    client, port = tenancy.client_for(tenancy.member), allow_port(closed_port())
    refused = _form_error(_imap_post(client, port))
    settings.IMAP_ALLOWED_NETWORKS = []
    assert _form_error(_imap_post(client, port)) == refused


@pytest.mark.parametrize(
    ("typed", "shown"),
    [
        ("127.1", "127.1"),
        ("0x7f000001", "0x7f000001"),
        ("10.0.0.1", "10.0.0.1"),
        ("169.254.169.254", "169.254.169.254"),
        ("[::1]", "::1"),
        ("::ffff:127.0.0.1", "::ffff:7f00:1"),
    ],
)
def test_internal_addresses_are_refused_without_a_connection(tenancy, settings, allow_port, connections, typed, shown):
    settings.IMAP_ALLOWED_NETWORKS = []
    response = _imap_post(tenancy.client_for(tenancy.member), allow_port(143), host=typed)
    assert _form_error(response) == NEUTRAL.format(host=shown, port=143)
    assert connections == []


def test_a_port_that_is_not_an_imap_port_is_refused_without_a_connection(tenancy, connections):
    response = _imap_post(tenancy.client_for(tenancy.member), 22)
    assert _form_error(response) == NEUTRAL.format(host="127.0.0.1", port=22)
    assert connections == []


def test_member_cannot_add_imap_channel_to_workspace(tenancy):
    url = reverse("workspace:add_imap_channel", args=[tenancy.workspace.pk])
    assert tenancy.client_for(tenancy.member).post(url, {}).status_code == 403


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
def test_control_characters_are_a_form_error_and_never_reach_a_server(tenancy, field, value, allow_port):
    with listening(record) as server:
        response = _imap_post(tenancy.client_for(tenancy.member), allow_port(server.port), **{field: value})
    assert response.status_code == 200
    assert response.context["form"].errors[field]
    assert server.accepted == 0
    assert not Channel.objects.filter(address="me@example.test").exists()


def test_a_user_name_that_is_not_ascii_is_a_form_error(tenancy, allow_port):
    with listening(record) as server:
        response = _imap_post(tenancy.client_for(tenancy.member), allow_port(server.port), username="jürgen")
    assert response.context["form"].errors["username"]
    assert server.accepted == 0


def test_a_crash_while_signing_in_keeps_the_password_out_of_the_error_report(tenancy, memory_imap, monkeypatch):
    crash_on_login(monkeypatch)
    url = reverse("personal:add_imap_channel")
    report = crash_report(tenancy.client_for(tenancy.member), url, _imap_form(memory_imap.port, password=SECRET))
    assert "password_login" in report and "crashing_send" in report
    assert SECRET not in report


def test_a_crash_while_saving_keeps_the_password_out_of_the_error_report(tenancy, memory_imap, monkeypatch):
    class BrokenKeys:
        def encrypt(self, data: bytes) -> bytes:
            raise RuntimeError("a bug")

    monkeypatch.setattr(crypto, "_fernet", BrokenKeys)
    url = reverse("personal:add_imap_channel")
    report = crash_report(tenancy.client_for(tenancy.member), url, _imap_form(memory_imap.port, password=SECRET))
    assert "encrypt_json" in report
    assert SECRET not in report


@pytest.mark.parametrize(
    ("chosen", "scope"), [("90", "(90 days before connecting); older mail stays"), ("0", "all mail in the mailbox")]
)
def test_connecting_an_imap_channel_says_how_far_back_its_first_import_reaches(tenancy, memory_imap, chosen, scope):
    response = _imap_post(tenancy.client_for(tenancy.member), memory_imap.port, import_days=chosen)
    assert response["Location"] == reverse("channel_overview", args=[Channel.objects.get(address="me@example.test").pk])
    [said] = [str(message) for message in get_messages(response.wsgi_request)]
    assert said.startswith("Connected me@example.test. Its first import brings in ") and scope in said


def test_no_encryption_must_be_confirmed_before_anything_is_sent(tenancy, allow_port):
    with listening(record) as server:
        response = _imap_post(tenancy.client_for(tenancy.member), allow_port(server.port), confirm_unencrypted="")
    assert response.context["form"].errors["confirm_unencrypted"]
    assert server.accepted == 0


@pytest.mark.parametrize(("security", "port"), [("tls", 993), ("starttls", 143), ("none", 143)])
def test_an_empty_port_is_the_usual_one_for_the_security_chosen(security, port):
    form = ImapConnectForm(_imap_form("", security=security))
    assert form.is_valid(), form.errors
    assert (form.cleaned_data["security"], form.cleaned_data["port"]) == (ImapSecurity(security), port)


def test_the_form_offers_tls_first_and_warns_about_no_encryption(tenancy):
    body = tenancy.client_for(tenancy.member).get(reverse("personal:add_imap_channel")).content.decode()
    assert body.index("TLS (port 993)") < body.index("STARTTLS (port 143)") < body.index("passwords travel unencrypted")
    assert 'value="tls" required id="id_security_0" checked' in body


@pytest.mark.parametrize("implicit", [True, False], ids=["tls", "starttls"])
def test_the_password_only_travels_encrypted(tenancy, trust_local_certificates, implicit, allow_port):
    security = "tls" if implicit else "starttls"
    with tls_imap(implicit=implicit) as server:
        response = _imap_post(
            tenancy.client_for(tenancy.member),
            allow_port(server.port),
            host="localhost",
            security=security,
            password=SECRET,
        )
    channel = Channel.objects.get(address="me@example.test")
    assert response["Location"] == reverse("channel_overview", args=[channel.pk])
    assert channel.imap_security == security
    assert server.logins == [("me", SECRET)]
    assert ("LOGIN", True) in server.commands and ("LOGIN", False) not in server.commands
    if not implicit:
        names = [name for name, _ in server.commands]
        assert names.index("STARTTLS") < names.index("LOGIN")


@pytest.mark.parametrize("implicit", [True, False], ids=["tls", "starttls"])
def test_a_certificate_for_another_name_stops_before_the_password_is_sent(
    tenancy, trust_local_certificates, implicit, allow_port
):
    with tls_imap(implicit=implicit, certificate_for="127.0.0.1") as server:
        response = _imap_post(
            tenancy.client_for(tenancy.member),
            allow_port(server.port),
            host="localhost",
            security="tls" if implicit else "starttls",
        )
    assert response.status_code == 200 and response.context["form"].non_field_errors()
    assert server.logins == []
    assert not Channel.objects.filter(address="me@example.test").exists()


def test_starttls_is_refused_when_the_server_does_not_offer_it(tenancy, trust_local_certificates, allow_port):
    with tls_imap(implicit=False, offer_starttls=False) as server:
        response = _imap_post(
            tenancy.client_for(tenancy.member), allow_port(server.port), host="localhost", security="starttls"
        )
    assert response.status_code == 200 and response.context["form"].non_field_errors()
    assert server.logins == []
    assert not Channel.objects.filter(address="me@example.test").exists()
