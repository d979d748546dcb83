"""The whole Reauthorize round trip against the real local provider."""

import logging

import pytest
from django.contrib.messages import get_messages
from django.core import mail
from django.test import Client
from django.urls import reverse

from channels_app.models import Channel, ChannelEvent, ChannelStatus, NotificationKind
from channels_app.providers import AuthFailure, get_provider
from channels_app.services.credentials import channel_credentials
from channels_app.services.reconnect import channel_reconnected
from channels_app.services.status import channel_set_status
from localprovider import browser, control
from tests.provider_fixtures import oauth_round_trip

pytestmark = pytest.mark.local_provider


@pytest.fixture
def broken_channel(tenancy, make_mailbox, connect_local):
    """The shared channel, connected to a real mailbox, whose access was then revoked."""
    mailbox = make_mailbox("support")
    channel = connect_local(tenancy.shared_channel, mailbox)
    channel_set_status(channel=channel, status=ChannelStatus.NEEDS_REAUTH, reason="revoked", cause="sync task")
    return channel, mailbox


def _start_url(channel: Channel) -> str:
    return reverse("channel_reauthorize", args=[channel.pk])


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def _mailbox_opens(channel: Channel) -> bool:
    channel.refresh_from_db()
    provider = get_provider(channel.provider)
    with provider.open_mailbox(provider.imap_endpoint(address=channel.address), channel_credentials(channel)) as c:
        return bool(c.select_folder("INBOX", readonly=True))


def test_success_replaces_credentials_activates_and_records_who(
    tenancy, broken_channel, make_notification, local_provider, django_capture_on_commit_callbacks
):
    channel, mailbox = broken_channel
    alert = make_notification(recipient=tenancy.admin, channel=channel, kind=NotificationKind.NEEDS_REAUTH)
    old = channel_credentials(channel)
    control.revoke_tokens(local_provider, mailbox.address)
    with django_capture_on_commit_callbacks(execute=True) as after_commit:
        response = oauth_round_trip(tenancy.client_for(tenancy.admin), _start_url(channel), mailbox)
    assert any(getattr(callback, "func", None) is channel_reconnected for callback in after_commit)
    assert response["Location"] == reverse("channel_overview", args=[channel.pk])
    assert "is active again" in _messages(response)[0]
    channel.refresh_from_db()
    assert channel.status == ChannelStatus.ACTIVE
    assert channel_credentials(channel).refresh_token != old.refresh_token
    assert _mailbox_opens(channel)
    event = ChannelEvent.objects.filter(channel=channel).first()
    assert (event.from_status, event.to_status, event.actor) == ("needs_reauth", "active", tenancy.admin)
    alert.refresh_from_db()
    assert alert.resolved_at is not None  # the pop-up goes away for everyone
    receipt = mail.outbox[-1]
    assert receipt.subject == f"{channel.address} was reconnected by {tenancy.admin}"
    assert "no messages were missed" in receipt.body and receipt.to == [tenancy.admin.email]


def test_reauthorizing_a_healthy_channel_works_and_is_recorded(tenancy, make_mailbox, connect_local):
    mailbox = make_mailbox()
    channel = connect_local(tenancy.member_channel, mailbox)
    response = oauth_round_trip(tenancy.client_for(tenancy.member), _start_url(channel), mailbox)
    assert response.status_code == 302
    event = ChannelEvent.objects.get(channel=channel)
    assert (event.from_status, event.to_status, event.actor) == ("active", "active", tenancy.member)


def test_the_replaced_tokens_stop_working_where_revoking_ends_one_token(tenancy, make_mailbox, connect_local):
    mailbox = make_mailbox()
    channel = connect_local(tenancy.member_channel, mailbox)
    old = channel_credentials(channel)
    oauth_round_trip(tenancy.client_for(tenancy.member), _start_url(channel), mailbox)
    with pytest.raises(AuthFailure):
        get_provider("local").refresh(old)
    assert _mailbox_opens(channel)


def test_at_google_the_replaced_tokens_are_left_alone_as_revoking_them_would_end_the_new_ones(
    tenancy, make_mailbox, connect_local
):
    mailbox = make_mailbox("gm", persona="google")
    channel = connect_local(tenancy.member_channel, mailbox, kind="gmail")
    old = channel_credentials(channel)
    response = oauth_round_trip(tenancy.client_for(tenancy.member), _start_url(channel), mailbox)
    assert "is active again" in _messages(response)[0]
    assert _mailbox_opens(channel)
    assert channel_credentials(channel).refresh_token != old.refresh_token


def test_wrong_account_is_refused_naming_both_and_nothing_changes(tenancy, broken_channel, make_mailbox):
    channel, _ = broken_channel
    before = Channel.objects.get(pk=channel.pk).credentials_ciphertext
    intruder = make_mailbox("someone")
    response = oauth_round_trip(tenancy.client_for(tenancy.admin), _start_url(channel), intruder)
    text = _messages(response)[0]
    assert intruder.address in text and channel.address in text
    channel.refresh_from_db()
    assert channel.credentials_ciphertext == before
    assert channel.status == ChannelStatus.NEEDS_REAUTH


def test_access_denied_is_a_friendly_message_and_nothing_changes(tenancy, broken_channel):
    channel, mailbox = broken_channel
    before = Channel.objects.get(pk=channel.pk).credentials_ciphertext
    response = oauth_round_trip(tenancy.client_for(tenancy.admin), _start_url(channel), mailbox, allow=False)
    assert "You declined access" in _messages(response)[0]
    channel.refresh_from_db()
    assert (channel.credentials_ciphertext, channel.status) == (before, ChannelStatus.NEEDS_REAUTH)


def _callback_for(client: Client, channel: Channel, mailbox) -> dict[str, str]:
    start = client.post(_start_url(channel))
    return browser.callback_query(browser.authorize_as(start["Location"], mailbox.address, mailbox.password))


def test_replayed_state_is_refused(tenancy, broken_channel):
    channel, mailbox = broken_channel
    client = tenancy.client_for(tenancy.admin)
    query = _callback_for(client, channel, mailbox)
    assert client.get(reverse("oauth_callback"), query).status_code == 302
    assert client.get(reverse("oauth_callback"), query).status_code == 403


def test_forged_state_is_refused_and_nothing_changes(tenancy, broken_channel):
    channel, mailbox = broken_channel
    client = tenancy.client_for(tenancy.admin)
    query = _callback_for(client, channel, mailbox)
    response = client.get(reverse("oauth_callback"), {**query, "state": "forged-" + query["state"][7:]})
    assert response.status_code == 403
    channel.refresh_from_db()
    assert channel.status == ChannelStatus.NEEDS_REAUTH


def test_expired_state_is_refused(tenancy, broken_channel, settings):
    channel, mailbox = broken_channel
    client = tenancy.client_for(tenancy.admin)
    query = _callback_for(client, channel, mailbox)
    settings.OAUTH_STATE_MAX_AGE_SECONDS = -1
    response = client.get(reverse("oauth_callback"), query)
    assert response.status_code == 403
    assert "expired" in response.content.decode()


def test_another_persons_state_is_refused(tenancy, broken_channel, make_user, make_company_membership):
    channel, mailbox = broken_channel
    query = _callback_for(tenancy.client_for(tenancy.admin), channel, mailbox)
    other_admin = make_user()
    make_company_membership(user=other_admin, company=tenancy.company, role="admin")
    assert tenancy.client_for(other_admin).get(reverse("oauth_callback"), query).status_code == 403
    channel.refresh_from_db()
    assert channel.status == ChannelStatus.NEEDS_REAUTH


def test_wrong_client_secret_tells_the_person_an_admin_must_fix_it(tenancy, broken_channel, settings):
    channel, mailbox = broken_channel
    settings.MAIL_PROVIDERS = {
        **settings.MAIL_PROVIDERS,
        "local": {**settings.MAIL_PROVIDERS["local"], "CLIENT_SECRET": "wrong"},
    }
    response = oauth_round_trip(tenancy.client_for(tenancy.admin), _start_url(channel), mailbox)
    assert "needs fixing by our staff (invalid_client)" in _messages(response)[0]
    channel.refresh_from_db()
    assert channel.status == ChannelStatus.NEEDS_REAUTH


def test_no_credential_appears_in_pages_admin_or_logs(tenancy, broken_channel, caplog, make_user):
    caplog.set_level(logging.DEBUG)
    channel, mailbox = broken_channel
    client = tenancy.client_for(tenancy.admin)
    pages = [oauth_round_trip(client, _start_url(channel), mailbox)]
    channel.refresh_from_db()
    secrets = channel_credentials(channel)
    pages += [client.get(reverse(name, args=[channel.pk])) for name in ("channel_overview", "channel_settings")]
    pages.append(client.get(reverse("workspace_channels", args=[tenancy.workspace.pk])))
    staff = Client()
    staff.force_login(make_user(is_staff=True, is_superuser=True))
    pages.append(staff.get(reverse("admin:channels_app_channel_change", args=[channel.pk])))
    pages.append(staff.get(reverse("admin:channels_app_channel_changelist")))
    for secret in (secrets.access_token, secrets.refresh_token, mailbox.password, channel.credentials_ciphertext):
        assert secret
        assert all(secret not in page.content.decode() for page in pages)
        assert secret not in caplog.text


@pytest.mark.django_db(transaction=True)
def test_four_callbacks_racing_with_one_state_get_past_it_once(broken_channel, tenancy, local_provider):
    import threading

    channel, mailbox = broken_channel
    client = tenancy.client_for(tenancy.admin)
    start = client.post(_start_url(channel))
    query = browser.callback_query(browser.authorize_as(start["Location"], mailbox.address, mailbox.password))
    cookies = client.cookies
    statuses: list[int] = []
    barrier = threading.Barrier(4)

    def callback() -> None:
        racer = Client()
        racer.cookies = cookies
        barrier.wait()
        statuses.append(racer.get(reverse("oauth_callback"), query).status_code)

    threads = [threading.Thread(target=callback) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [302, 403, 403, 403]
    reauthorized = ChannelEvent.objects.filter(channel=channel, reason__startswith="Reauthorized by")
    assert reauthorized.count() == 1
