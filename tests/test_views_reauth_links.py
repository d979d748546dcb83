"""Reauthorization links through the pages: who may send and withdraw them, the page a link opens for
someone with no account with us, and the whole round trip at Local mail."""

from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from channels_app.models import (
    ChannelEvent,
    ChannelStatus,
    Notification,
    NotificationKind,
    ReauthorizationLink,
)
from channels_app.services.credentials import channel_credentials
from channels_app.services.reauth_links import link_send
from channels_app.services.status import channel_set_status
from localprovider import browser, control

pytestmark = pytest.mark.django_db


def _send_url(channel) -> str:
    return reverse("reauth_link_send", args=[channel.pk])


def _path(url: str) -> str:
    return urlsplit(url).path


def _sent(tenancy, channel=None, to="it@acme.test"):
    return link_send(channel=channel or tenancy.shared_channel, sender=tenancy.admin, sent_to=to)


def test_an_admin_sends_a_link_from_the_settings_tab(tenancy):
    client = tenancy.client_for(tenancy.admin)
    page = client.get(reverse("channel_settings", args=[tenancy.shared_channel.pk]))
    assert b'data-testid="send-link"' in page.content
    response = client.post(_send_url(tenancy.shared_channel), {"email": "it@acme.test"})
    assert response.status_code == 302
    assert response["Location"].endswith("#reauthorization-link")
    assert mail.outbox[-1].to == ["it@acme.test"]
    listed = client.get(response["Location"]).content.decode()
    assert "it@acme.test" in listed and "Withdraw" in listed


def test_a_member_may_not_send_and_is_not_offered_the_form(tenancy):
    client = tenancy.client_for(tenancy.member)
    assert client.post(_send_url(tenancy.shared_channel), {"email": "it@acme.test"}).status_code == 403
    page = client.get(reverse("channel_settings", args=[tenancy.shared_channel.pk]))
    assert b'data-testid="send-link"' not in page.content
    assert not ReauthorizationLink.objects.exists() and not mail.outbox


def test_an_outsider_gets_404(tenancy):
    response = tenancy.client_for(tenancy.outsider).post(_send_url(tenancy.shared_channel), {"email": "x@y.test"})
    assert response.status_code == 404
    assert not ReauthorizationLink.objects.exists()


def test_the_owner_of_an_individual_inbox_sends_one(tenancy):
    response = tenancy.client_for(tenancy.member).post(_send_url(tenancy.member_channel), {"email": "it@acme.test"})
    assert response.status_code == 302
    assert ReauthorizationLink.objects.get().channel == tenancy.member_channel


def test_a_bad_address_is_shown_in_place_and_sends_nothing(tenancy):
    response = tenancy.client_for(tenancy.admin).post(_send_url(tenancy.shared_channel), {"email": "not an address"})
    assert response.status_code == 200
    assert response.context["link_form"].errors["email"] == ["Enter a valid email address."]
    assert not mail.outbox


def test_too_many_links_answer_429(tenancy, settings):
    settings.REAUTH_LINKS_PER_HOUR = 1
    client = tenancy.client_for(tenancy.admin)
    assert client.post(_send_url(tenancy.shared_channel), {"email": "a@acme.test"}).status_code == 302
    response = client.post(_send_url(tenancy.shared_channel), {"email": "b@acme.test"})
    assert response.status_code == 429
    assert "Too many links" in response.content.decode()
    assert ReauthorizationLink.objects.count() == 1


def test_withdrawing_needs_a_manager_and_the_links_own_channel(tenancy):
    sent = _sent(tenancy)
    url = reverse("reauth_link_withdraw", args=[tenancy.shared_channel.pk, sent.link.pk])
    assert tenancy.client_for(tenancy.member).post(url).status_code == 403
    assert tenancy.client_for(tenancy.outsider).post(url).status_code == 404
    elsewhere = reverse("reauth_link_withdraw", args=[tenancy.member_channel.pk, sent.link.pk])
    assert tenancy.client_for(tenancy.member).post(elsewhere).status_code == 404
    assert tenancy.client_for(tenancy.admin).post(url).status_code == 302
    sent.link.refresh_from_db()
    assert sent.link.withdrawn_by == tenancy.admin
    assert Client().get(_path(sent.url)).status_code == 410


def test_the_landing_page_names_who_asks_and_needs_no_account(tenancy):
    tenancy.shared_channel.provider = "local"
    tenancy.shared_channel.save()
    sent = _sent(tenancy)
    page = Client().get(_path(sent.url))
    text = page.content.decode()
    assert page.status_code == 200
    assert "Acme" in text and "support@acme.test" in text and "admin@acme.test" in text
    assert page["Referrer-Policy"] == "same-origin" and "no-store" in page["Cache-Control"]
    assert ChannelEvent.objects.filter(reason__contains="was opened").count() == 1


def test_an_invalid_link_is_404_and_names_nothing(tenancy):
    page = Client().get(reverse("reauth_link", args=["not-a-link"]))
    assert page.status_code == 404
    assert b"support@acme.test" not in page.content


def test_starting_the_sign_in_asks_for_the_channels_account(tenancy):
    tenancy.shared_channel.provider = "local"
    tenancy.shared_channel.save()
    sent = _sent(tenancy)
    response = Client().post(_path(sent.url))
    assert response.status_code == 302
    assert "login_hint=support%40acme.test" in response["Location"]


def test_a_callback_without_a_link_state_still_asks_anonymous_people_to_sign_in(tenancy):
    response = Client().get(reverse("oauth_callback"), {"state": "whatever", "code": "x"})
    assert response.status_code == 302 and response["Location"].startswith(reverse("account_login"))


@pytest.mark.local_provider
class TestRoundTripAtLocalMail:
    @pytest.fixture
    def broken(self, tenancy, make_mailbox, connect_local):
        mailbox = make_mailbox("shared")
        channel = connect_local(tenancy.shared_channel, mailbox)
        channel_set_status(channel=channel, status=ChannelStatus.NEEDS_REAUTH, reason="revoked", cause="sync task")
        return channel, mailbox

    def _through_link(self, url: str, mailbox, client: Client | None = None):
        client = client or Client()
        start = client.post(_path(url))
        assert start.status_code == 302, start
        callback = browser.authorize_as(start["Location"], mailbox.address, mailbox.password)
        return client.get(reverse("oauth_callback"), browser.callback_query(callback))

    def test_the_holder_reauthorizes_and_everyone_is_told(
        self, tenancy, broken, local_provider, django_capture_on_commit_callbacks
    ):
        channel, mailbox = broken
        sent = _sent(tenancy, channel)
        old = channel_credentials(channel)
        with django_capture_on_commit_callbacks(execute=True):
            page = self._through_link(sent.url, mailbox)
        assert page.status_code == 200 and "Reconnected" in page.content.decode()
        channel.refresh_from_db()
        assert channel.status == ChannelStatus.ACTIVE
        assert channel_credentials(channel).refresh_token != old.refresh_token
        event = ChannelEvent.objects.filter(channel=channel, to_status="active", from_status="needs_reauth").get()
        assert event.actor is None and "link sent to it@acme.test" in event.reason
        assert Notification.objects.filter(kind=NotificationKind.LINK_USED, recipient=tenancy.admin).exists()
        again = Client().get(_path(sent.url))
        assert again.status_code == 410 and "already used" in again.content.decode()

    def test_a_different_account_is_refused_and_the_link_still_works(self, tenancy, broken, make_mailbox):
        channel, mailbox = broken
        sent = _sent(tenancy, channel)
        old = channel_credentials(channel)
        intruder = make_mailbox("intruder")
        page = self._through_link(sent.url, intruder)
        text = page.content.decode()
        assert "Not reconnected" in text and f"You signed in as {intruder.address}" in text
        assert "private window" in text  # same domain: the single sign-on advice
        channel.refresh_from_db()
        assert channel.status == ChannelStatus.NEEDS_REAUTH
        assert channel_credentials(channel) == old
        assert Notification.objects.filter(kind=NotificationKind.LINK_REFUSED, recipient=tenancy.admin).exists()
        assert self._through_link(sent.url, mailbox).status_code == 200
        channel.refresh_from_db()
        assert channel.status == ChannelStatus.ACTIVE

    def test_two_sign_ins_through_one_link_reauthorize_once(self, tenancy, broken, local_provider, monkeypatch):
        channel, mailbox = broken
        sent = _sent(tenancy, channel)
        first, second = Client(), Client()
        starts = [c.post(_path(sent.url)) for c in (first, second)]
        callbacks = [browser.authorize_as(s["Location"], mailbox.address, mailbox.password) for s in starts]
        assert first.get(reverse("oauth_callback"), browser.callback_query(callbacks[0])).status_code == 200
        # The second finishes as if it had checked the link just before the first used it up.
        monkeypatch.setattr("channels_app.views.reauth_links.link_check_open", lambda link, **kwargs: link)
        late = second.get(reverse("oauth_callback"), browser.callback_query(callbacks[1]))
        assert late.status_code == 410 and "already used" in late.content.decode()
        assert ChannelEvent.objects.filter(channel=channel, reason__startswith="Reauthorized through").count() == 1
        # The late sign-in's tokens were given back, and the ones the first replaced: one grant is left.
        state = control.token_state(local_provider, mailbox.address)
        assert len(state["live_refresh"]) == 1
        assert control.newest_still_live(state)["refresh"] is False  # the late one was newest


@pytest.mark.parametrize(
    ("who", "lands_on_overview"), [("admin", True), ("member", True), ("outsider", False), (None, False)]
)
def test_a_link_used_by_someone_who_sees_the_channel_lands_on_its_overview(
    tenancy, memory_imap, who, lands_on_overview
):
    """Whoever holds the account may have an account here too: if they may see the channel, its Overview shows the
    import and then the receipt; anyone else gets the page that says it is done."""
    channel = memory_imap.serve(tenancy.shared_channel)
    sent = _sent(tenancy, channel)
    client = tenancy.client_for(getattr(tenancy, who)) if who else Client()
    done = client.post(_path(sent.url), {"password": "new password"})
    if lands_on_overview:
        assert done["Location"] == reverse("channel_overview", args=[channel.pk])
        assert done["Referrer-Policy"] == "same-origin"
    else:
        assert done.status_code == 200 and "Reconnected" in done.content.decode()
    assert Notification.objects.filter(kind=NotificationKind.LINK_USED, recipient=tenancy.admin).exists()


def test_an_imap_channels_link_asks_for_the_new_password(tenancy, memory_imap):
    channel = memory_imap.serve(tenancy.shared_channel, password="old password")
    sent = _sent(tenancy, channel)
    client = Client()
    memory_imap.refuse = True
    refused = client.post(_path(sent.url), {"password": "wrong one"})
    assert refused.status_code == 200
    assert "rejected this password" in refused.content.decode()
    assert Notification.objects.filter(kind=NotificationKind.LINK_REFUSED).exists()
    memory_imap.refuse = False
    done = client.post(_path(sent.url), {"password": "new password"})
    assert "Reconnected" in done.content.decode()
    channel.refresh_from_db()
    assert channel.status == ChannelStatus.ACTIVE
    assert channel_credentials(channel).password == "new password"
    assert client.post(_path(sent.url), {"password": "again"}).status_code == 410
