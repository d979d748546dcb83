"""Starting a reauthorization: who may, and what the provider is asked for."""

from urllib.parse import parse_qs, urlparse

from django.urls import reverse

from channels_app.providers import Credentials
from channels_app.services.credentials import channel_credentials, channel_store_credentials
from tests.error_reports import crash_on_login, crash_report


def _start(tenancy, user, channel):
    return tenancy.client_for(user).post(reverse("channel_reauthorize", args=[channel.pk]))


def test_admin_is_sent_to_provider_with_login_hint_state_and_pkce(tenancy):
    tenancy.shared_channel.provider = "local"
    tenancy.shared_channel.save()
    response = _start(tenancy, tenancy.admin, tenancy.shared_channel)
    assert response.status_code == 302
    location = urlparse(response["Location"])
    query = parse_qs(location.query)
    assert location.path == "/o/authorize/"
    assert query["login_hint"] == ["support@acme.test"]
    assert query["code_challenge_method"] == ["S256"]
    assert query["prompt"] == ["consent"]
    assert len(query["state"][0]) >= 32
    assert query["redirect_uri"] == ["http://testserver/oauth/callback/"]


def test_gmail_asks_for_offline_access_and_the_account_chooser(tenancy, settings):
    settings.MAIL_PROVIDERS = {
        **settings.MAIL_PROVIDERS,
        # Google's own endpoints, not Local mail standing in for it.
        "gmail": {"CLIENT_ID": "id", "CLIENT_SECRET": "s"},
    }
    response = _start(tenancy, tenancy.admin, tenancy.shared_channel)
    query = parse_qs(urlparse(response["Location"]).query)
    assert response["Location"].startswith("https://accounts.google.com/")
    assert query["access_type"] == ["offline"]
    assert query["prompt"] == ["select_account consent"]
    assert query["login_hint"] == ["support@acme.test"]


def test_microsoft_asks_for_the_account_chooser_with_the_channels_address(tenancy, settings):
    settings.MAIL_PROVIDERS = {
        **settings.MAIL_PROVIDERS,
        # Microsoft's own endpoints, not Local mail standing in for it.
        "microsoft": {"CLIENT_ID": "id", "CLIENT_SECRET": "s"},
    }
    tenancy.shared_channel.provider = "microsoft"
    tenancy.shared_channel.save()
    response = _start(tenancy, tenancy.admin, tenancy.shared_channel)
    query = parse_qs(urlparse(response["Location"]).query)
    assert response["Location"].startswith("https://login.microsoftonline.com/common/oauth2/v2.0/authorize?")
    # Microsoft takes a single prompt value, and has no access_type: offline_access is a scope there.
    assert query["prompt"] == ["select_account"] and "access_type" not in query
    assert "offline_access" in query["scope"][0].split()
    assert query["login_hint"] == ["support@acme.test"]


def test_unconfigured_provider_says_so_and_changes_nothing(tenancy, settings):
    settings.MAIL_PROVIDERS = {**settings.MAIL_PROVIDERS, "gmail": {}}
    response = _start(tenancy, tenancy.admin, tenancy.shared_channel)  # gmail without a client id
    assert response.status_code == 302
    assert response["Location"] == reverse("channel_settings", args=[tenancy.shared_channel.pk])


def test_member_may_not_reauthorize_shared_channel(tenancy):
    assert _start(tenancy, tenancy.member, tenancy.shared_channel).status_code == 403


def test_outsider_gets_404(tenancy):
    assert _start(tenancy, tenancy.outsider, tenancy.shared_channel).status_code == 404


def test_owner_reauthorizes_individual_inbox_but_company_admin_cannot_see_it(tenancy):
    tenancy.member_channel.provider = "local"
    tenancy.member_channel.save()
    assert _start(tenancy, tenancy.member, tenancy.member_channel).status_code == 302
    assert _start(tenancy, tenancy.admin, tenancy.member_channel).status_code == 404


def test_reauthorize_is_post_only(tenancy):
    url = reverse("channel_reauthorize", args=[tenancy.shared_channel.pk])
    assert tenancy.client_for(tenancy.admin).get(url).status_code == 405


def test_settings_tab_offers_reauthorize_on_a_healthy_channel_to_managers_only(tenancy):
    url = reverse("channel_settings", args=[tenancy.shared_channel.pk])
    assert 'data-testid="reauthorize"' in tenancy.client_for(tenancy.admin).get(url).content.decode()
    assert 'data-testid="reauthorize"' not in tenancy.client_for(tenancy.member).get(url).content.decode()


def test_imap_channel_reauthorize_goes_to_the_password_form(tenancy):
    tenancy.member_channel.provider = "imap"
    tenancy.member_channel.save()
    response = _start(tenancy, tenancy.member, tenancy.member_channel)
    assert response["Location"] == reverse("channel_reauthorize_password", args=[tenancy.member_channel.pk])


def test_callback_with_forged_state_is_403(tenancy):
    response = tenancy.client_for(tenancy.admin).get(reverse("oauth_callback"), {"state": "forged", "code": "x"})
    assert response.status_code == 403
    assert "Nothing was changed" in response.content.decode()


def _imap_channel(channel, port):
    channel.provider, channel.imap_host, channel.imap_port = "imap", "127.0.0.1", port
    channel.imap_security, channel.imap_username = "none", channel.address
    channel.save()
    channel_store_credentials(channel=channel, credentials=Credentials(password="old password"))
    return channel


def test_a_crash_while_checking_a_new_password_keeps_it_out_of_the_error_report(tenancy, memory_imap, monkeypatch):
    channel = _imap_channel(tenancy.member_channel, memory_imap.port)
    crash_on_login(monkeypatch)
    secret = "correct-horse-Battery-99"
    url = reverse("channel_reauthorize_password", args=[channel.pk])
    report = crash_report(tenancy.client_for(tenancy.member), url, {"password": secret})
    assert "password_login" in report
    assert secret not in report


def test_a_server_we_no_longer_connect_to_reads_as_any_failed_connection(tenancy, memory_imap, settings):
    channel = _imap_channel(tenancy.member_channel, memory_imap.port)
    settings.IMAP_ALLOWED_NETWORKS = []
    url = reverse("channel_reauthorize_password", args=[channel.pk])
    response = tenancy.client_for(tenancy.member).post(url, {"password": "new password"})
    assert response.context["form"].non_field_errors() == [
        f"Could not sign in to a mail server at 127.0.0.1:{memory_imap.port} with these details. "
        "Nothing was changed; try again in a moment."
    ]
    assert memory_imap.logins == []
    assert channel_credentials(channel).password == "old password"
