"""Disconnect and Remove, each asked first: the owner of an individual inbox and an admin of a shared one may,
a plain member may see but not change (403), an outsider and a missing channel get 404."""

import pytest
from django.urls import reverse

from channels_app.models import Channel, ChannelEvent, ChannelStatus, Inbox, Message
from channels_app.services.connection_test import TESTS_PER_WINDOW
from channels_app.services.lease import channel_lease


@pytest.fixture
def signed_in(tenancy):
    """Channels with the credentials a provider would have given, and their managers' clients."""
    for channel in (tenancy.shared_channel, tenancy.member_channel):
        Channel.objects.filter(pk=channel.pk).update(provider="imap", imap_host="mail.acme.test", imap_port=993)
    return tenancy


def _url(name: str, channel: Channel) -> str:
    return reverse(name, args=[channel.pk])


@pytest.mark.parametrize("action", ["channel_disconnect", "channel_remove"])
def test_the_confirmation_pages_are_for_managers_only(signed_in, action):
    tenancy = signed_in
    shared, personal = tenancy.shared_channel, tenancy.member_channel
    assert tenancy.client_for(tenancy.admin).get(_url(action, shared)).status_code == 200
    assert tenancy.client_for(tenancy.member).get(_url(action, personal)).status_code == 200
    assert tenancy.client_for(tenancy.member).get(_url(action, shared)).status_code == 403
    assert tenancy.client_for(tenancy.outsider).get(_url(action, shared)).status_code == 404
    assert tenancy.client_for(tenancy.admin).get(_url(action, personal)).status_code == 404
    assert tenancy.client_for(tenancy.admin).get(reverse(action, args=[999_999])).status_code == 404
    assert tenancy.client_for(tenancy.member).post(_url(action, shared)).status_code == 403
    assert tenancy.client_for(tenancy.outsider).post(_url(action, shared)).status_code == 404
    assert Channel.objects.get(pk=shared.pk).status == ChannelStatus.ACTIVE  # nothing changed for them


@pytest.mark.parametrize(
    ("action", "title"), [("channel_disconnect", "Disconnect"), ("channel_remove", "Remove channel")]
)
def test_each_confirmation_page_names_itself_in_the_title(signed_in, action, title):
    body = signed_in.client_for(signed_in.admin).get(_url(action, signed_in.shared_channel)).content.decode()
    assert f"<title>support@acme.test · {title} · Shared Inbox</title>" in body  # not "support@acme.test ·  · "


def test_disconnect_asks_first_saying_what_stops(signed_in, make_message):
    tenancy = signed_in
    make_message(channel=tenancy.shared_channel)
    page = tenancy.client_for(tenancy.admin).get(_url("channel_disconnect", tenancy.shared_channel))
    body = page.content.decode()
    for stops in ("Mail import:", "Alerts:", "The subscription:", "Our access:"):
        assert stops in body
    assert "its 1 imported message stay" in body
    assert Channel.objects.get(pk=tenancy.shared_channel.pk).status == ChannelStatus.ACTIVE  # asking changes nothing


def test_disconnecting_after_confirming_lands_on_the_overview_that_offers_reconnect_and_remove(signed_in):
    tenancy = signed_in
    client = tenancy.client_for(tenancy.admin)
    response = client.post(_url("channel_disconnect", tenancy.shared_channel), follow=True)
    assert response.redirect_chain[-1][0] == _url("channel_overview", tenancy.shared_channel)
    body = response.content.decode()
    assert "is disconnected. Reconnect it with Reauthorize, or remove it." in body
    assert 'data-testid="disconnected-note"' in body and 'data-testid="reconnect"' in body
    assert 'role="alert"' not in body.split('data-testid="disconnected-note"')[0].split("<h1>")[1]
    assert Channel.objects.get(pk=tenancy.shared_channel.pk).status == ChannelStatus.DISCONNECTED
    # Asking again about a disconnected channel leads back to its settings.
    again = client.get(_url("channel_disconnect", tenancy.shared_channel))
    assert again["Location"] == _url("channel_settings", tenancy.shared_channel)


def test_the_settings_tab_leads_to_the_confirmations_not_straight_to_the_action(signed_in):
    tenancy = signed_in
    body = tenancy.client_for(tenancy.admin).get(_url("channel_settings", tenancy.shared_channel)).content.decode()
    assert f'href="{_url("channel_disconnect", tenancy.shared_channel)}"' in body
    assert f'href="{_url("channel_remove", tenancy.shared_channel)}"' in body
    assert f'action="{_url("channel_disconnect", tenancy.shared_channel)}"' not in body


def test_remove_says_the_messages_are_deleted_and_then_deletes_them(signed_in, make_message):
    tenancy = signed_in
    channel = tenancy.shared_channel
    make_message(channel=channel)
    make_message(channel=channel)
    client = tenancy.client_for(tenancy.admin)
    body = client.get(_url("channel_remove", channel)).content.decode()
    assert "The inbox Support and its 2 imported messages are deleted with the channel" in body
    assert "The mail itself stays in the mailbox at IMAP" in body
    assert "Remove channel and 2 messages" in body
    response = client.post(_url("channel_remove", channel), follow=True)
    assert response.redirect_chain[-1][0] == reverse("workspace_channels", args=[tenancy.workspace.pk])
    assert "Removed support@acme.test: the inbox Support and its 2 imported messages are deleted." in (
        response.content.decode()
    )
    assert not Channel.objects.filter(pk=channel.pk).exists() and not Message.objects.filter(channel_id=channel.pk)
    assert not Inbox.objects.filter(pk=channel.inbox_id).exists()


def test_the_owner_removes_a_personal_channel_and_lands_on_personal_settings(signed_in):
    tenancy = signed_in
    response = tenancy.client_for(tenancy.member).post(_url("channel_remove", tenancy.member_channel))
    assert response["Location"] == reverse("personal_channels")
    assert not Channel.objects.filter(pk=tenancy.member_channel.pk).exists()


def test_a_channel_busy_syncing_is_not_removed_and_the_person_is_told(signed_in):
    tenancy = signed_in
    with channel_lease(tenancy.shared_channel.pk):
        response = tenancy.client_for(tenancy.admin).post(_url("channel_remove", tenancy.shared_channel), follow=True)
    assert "is syncing right now. Nothing was removed" in response.content.decode()
    assert Channel.objects.filter(pk=tenancy.shared_channel.pk).exists()


def test_the_channels_page_shows_disconnected_channels_apart_from_those_needing_attention(signed_in):
    tenancy = signed_in
    Channel.objects.filter(pk=tenancy.shared_channel.pk).update(
        status=ChannelStatus.DISCONNECTED, status_reason="Disconnected by admin@acme.test."
    )
    url = reverse("workspace_channels", args=[tenancy.workspace.pk])
    admin_page = tenancy.client_for(tenancy.admin).get(url).content.decode()
    assert 'data-testid="attention-banner"' not in admin_page and "needs attention" not in admin_page
    assert 'data-testid="row-warning"' not in admin_page and "click <em>Reauthorize" not in admin_page
    group = admin_page.split('data-testid="disconnected-group"')[1].split("</div>")[0]
    assert "support@acme.test" in group and "Reconnect or remove" in group
    assert 'data-testid="reconnect"' in group and _url("channel_remove", tenancy.shared_channel) in group
    assert 'data-testid="row-disconnected"' in admin_page
    member_page = tenancy.client_for(tenancy.member).get(url).content.decode()
    assert "An admin of this space can reconnect or remove" in member_page
    assert 'data-testid="reconnect"' not in member_page and _url("channel_remove", tenancy.shared_channel) not in (
        member_page
    )


def test_admin_disconnects_shared_channel_and_event_is_logged(tenancy):
    url = reverse("channel_disconnect", args=[tenancy.shared_channel.pk])
    response = tenancy.client_for(tenancy.admin).post(url)
    assert response.status_code == 302
    tenancy.shared_channel.refresh_from_db()
    assert tenancy.shared_channel.status == ChannelStatus.DISCONNECTED
    event = ChannelEvent.objects.get(channel=tenancy.shared_channel)
    assert (event.from_status, event.to_status, event.actor) == ("active", "disconnected", tenancy.admin)


def test_the_owner_disconnects_their_own_channel_once_asked(tenancy):
    url = reverse("channel_disconnect", args=[tenancy.member_channel.pk])
    client = tenancy.client_for(tenancy.member)
    assert client.get(url).status_code == 200
    assert Channel.objects.get(pk=tenancy.member_channel.pk).status == ChannelStatus.ACTIVE
    assert client.post(url).status_code == 302
    assert Channel.objects.get(pk=tenancy.member_channel.pk).status == ChannelStatus.DISCONNECTED


def test_disconnect_needs_csrf_token(tenancy):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(tenancy.member)
    assert client.post(reverse("channel_disconnect", args=[tenancy.member_channel.pk])).status_code == 403


# --- Reauthorize and Send link where the warning is ------------------------------------------------------------


def _needs_reauth(channel: Channel, provider: str = "gmail") -> None:
    Channel.objects.filter(pk=channel.pk).update(
        status=ChannelStatus.NEEDS_REAUTH, provider=provider, status_reason="Access was revoked."
    )


def _between(body: str, start: str, end: str) -> str:
    return body.split(start, 1)[1].split(end, 1)[0]


def test_the_channels_banner_and_row_offer_reauthorize_and_send_link_to_admins_only(tenancy):
    channel = tenancy.shared_channel
    _needs_reauth(channel)
    url = reverse("workspace_channels", args=[tenancy.workspace.pk])
    admin_page = tenancy.client_for(tenancy.admin).get(url).content.decode()
    banner = _between(admin_page, 'data-testid="attention-banner"', "</div>")
    row = _between(admin_page, f'<tr class="row-warning" data-channel="{channel.pk}">', "</tr>")
    for place in (banner, row):
        assert f'action="{_url("channel_reauthorize", channel)}"' in place
        assert f'href="{_url("channel_settings", channel)}#reauthorization-link"' in place
    assert "Open a channel" not in admin_page
    member_page = tenancy.client_for(tenancy.member).get(url).content.decode()
    assert "An admin of this space can fix it" in member_page
    assert _url("channel_reauthorize", channel) not in member_page and "#reauthorization-link" not in member_page
    assert tenancy.client_for(tenancy.outsider).get(url).status_code == 404


def test_an_imap_channels_reauthorize_leads_to_its_password_page(tenancy):
    _needs_reauth(tenancy.member_channel, provider="imap")
    body = tenancy.client_for(tenancy.member).get(reverse("personal_channels")).content.decode()
    banner = _between(body, 'data-testid="attention-banner"', "</div>")
    assert f'href="{_url("channel_reauthorize_password", tenancy.member_channel)}"' in banner


def test_the_channels_own_warning_offers_reauthorize_and_send_link_to_admins_only(tenancy):
    channel = tenancy.shared_channel
    _needs_reauth(channel)
    url = _url("channel_overview", channel)
    admin_banner = _between(tenancy.client_for(tenancy.admin).get(url).content.decode(), 'role="alert"', "</div>")
    assert 'data-testid="banner-reauthorize"' in admin_banner and "#reauthorization-link" in admin_banner
    member_banner = _between(tenancy.client_for(tenancy.member).get(url).content.decode(), 'role="alert"', "</div>")
    assert "Access was revoked." in member_banner and "banner-reauthorize" not in member_banner


# --- Test connection -----------------------------------------------------------------------------------------------


def test_test_connection_is_offered_to_managers_and_answers_in_words(tenancy, memory_imap):
    channel = memory_imap.serve(tenancy.shared_channel)
    url = _url("channel_test_connection", channel)
    admin = tenancy.client_for(tenancy.admin)
    assert f'action="{url}"' in admin.get(_url("channel_settings", channel)).content.decode()
    assert url not in tenancy.client_for(tenancy.member).get(_url("channel_settings", channel)).content.decode()
    response = admin.post(url, follow=True)
    assert response.redirect_chain[-1][0] == _url("channel_settings", channel)  # the top, where the answer is
    assert "The connection works: we signed in to support@acme.test at IMAP just now." in response.content.decode()
    memory_imap.refuse = True
    refused = admin.post(url, follow=True).content.decode()
    assert "IMAP refused our access:" in refused and "Needs reauthorization" in refused


def test_test_connection_is_403_for_a_member_404_for_an_outsider_and_a_missing_channel(tenancy, memory_imap):
    channel = memory_imap.serve(tenancy.shared_channel)
    url = _url("channel_test_connection", channel)
    assert tenancy.client_for(tenancy.member).post(url).status_code == 403
    assert tenancy.client_for(tenancy.outsider).post(url).status_code == 404
    assert tenancy.client_for(tenancy.admin).post(reverse("channel_test_connection", args=[999_999])).status_code == 404
    assert tenancy.client_for(tenancy.admin).get(url).status_code == 405
    assert memory_imap.logins == []  # none of them signed in anywhere


def test_test_connection_is_limited_and_says_when_to_try_again(tenancy, memory_imap):
    channel = memory_imap.serve(tenancy.shared_channel)
    client = tenancy.client_for(tenancy.admin)
    for _ in range(TESTS_PER_WINDOW):
        client.post(_url("channel_test_connection", channel))
    refused = client.post(_url("channel_test_connection", channel), follow=True).content.decode()
    assert "The connection was tested often just now: try again in" in refused
    assert len(memory_imap.logins) == TESTS_PER_WINDOW


def test_a_disconnected_channel_offers_no_test(tenancy):
    Channel.objects.filter(pk=tenancy.shared_channel.pk).update(status=ChannelStatus.DISCONNECTED)
    body = tenancy.client_for(tenancy.admin).get(_url("channel_settings", tenancy.shared_channel)).content.decode()
    assert 'data-testid="test-connection"' not in body
