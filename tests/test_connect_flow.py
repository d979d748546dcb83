"""Add channel against the real local provider: OAuth consent, and IMAP password logins at Dovecot."""

import pytest
from django.conf import settings
from django.contrib.messages import get_messages
from django.urls import reverse

from channels_app.models import Channel, ChannelStatus, InboxKind
from channels_app.services.credentials import channel_credentials
from tests.provider_fixtures import oauth_round_trip

pytestmark = pytest.mark.local_provider

LOCAL = settings.MAIL_PROVIDERS["local"]


def _imap_form(mailbox, **overrides) -> dict[str, object]:
    return {
        "address": mailbox.address,
        "host": LOCAL["IMAP_HOST"],
        "port": LOCAL["IMAP_PORT"],
        "username": mailbox.address,
        "password": mailbox.password,
        "security": "none",
        "confirm_unencrypted": "on",
        "inbox_name": "Billing",
        **overrides,
    }


def test_company_admin_connects_a_shared_channel_over_oauth(tenancy, make_mailbox):
    mailbox = make_mailbox("help")
    response = oauth_round_trip(
        tenancy.client_for(tenancy.admin),
        reverse("company:add_channel"),
        mailbox,
        data={"provider": "local", "workspace": tenancy.workspace.pk, "inbox_name": "Help desk"},
    )
    channel = Channel.objects.get(address=mailbox.address)
    assert response["Location"] == reverse("channel_overview", args=[channel.pk])
    assert (channel.inbox.kind, channel.inbox.workspace, channel.inbox.name) == (
        InboxKind.SHARED,
        tenancy.workspace,
        "Help desk",
    )
    assert channel.status == ChannelStatus.ACTIVE and channel_credentials(channel).refresh_token


def test_member_connects_an_individual_channel_over_oauth(tenancy, make_mailbox):
    mailbox = make_mailbox("me")
    oauth_round_trip(
        tenancy.client_for(tenancy.member), reverse("personal:add_channel"), mailbox, data={"provider": "local"}
    )
    channel = Channel.objects.get(address=mailbox.address)
    assert (channel.inbox.kind, channel.inbox.owner) == (InboxKind.INDIVIDUAL, tenancy.member)


def test_connecting_an_address_twice_is_refused(tenancy, make_mailbox):
    mailbox = make_mailbox()
    client = tenancy.client_for(tenancy.member)
    oauth_round_trip(client, reverse("personal:add_channel"), mailbox, data={"provider": "local"})
    response = oauth_round_trip(client, reverse("personal:add_channel"), mailbox, data={"provider": "local"})
    assert "already connected" in [str(m) for m in get_messages(response.wsgi_request)][-1]
    assert Channel.objects.filter(address=mailbox.address).count() == 1


def test_imap_channel_is_saved_only_after_a_real_login(tenancy, make_mailbox):
    mailbox = make_mailbox("billing")
    client = tenancy.client_for(tenancy.member)
    wrong = client.post(reverse("personal:add_imap_channel"), _imap_form(mailbox, password="wrong"))
    assert "rejected this user name or password" in wrong.content.decode()
    assert not Channel.objects.filter(address=mailbox.address).exists()
    right = client.post(reverse("personal:add_imap_channel"), _imap_form(mailbox))
    channel = Channel.objects.get(address=mailbox.address)
    assert right["Location"] == reverse("channel_overview", args=[channel.pk])
    assert (channel.provider, channel.imap_host, channel.imap_port) == ("imap", LOCAL["IMAP_HOST"], LOCAL["IMAP_PORT"])
    assert channel_credentials(channel).password == mailbox.password


def test_imap_reauthorize_checks_the_new_password_before_saving(tenancy, make_mailbox, local_provider):
    from localprovider import control

    mailbox = make_mailbox("pw")
    client = tenancy.client_for(tenancy.member)
    client.post(reverse("personal:add_imap_channel"), _imap_form(mailbox))
    channel = Channel.objects.get(address=mailbox.address)
    control.set_password(local_provider, mailbox.address, "changed-password")
    url = reverse("channel_reauthorize_password", args=[channel.pk])
    wrong = client.post(url, {"password": mailbox.password})
    assert "rejected this password" in wrong.content.decode()
    assert channel_credentials(channel).password == mailbox.password
    right = client.post(url, {"password": "changed-password"})
    assert right["Location"] == reverse("channel_overview", args=[channel.pk])  # the import, then the receipt
    channel.refresh_from_db()
    assert channel_credentials(channel).password == "changed-password"
    assert channel.events.first().actor == tenancy.member


def test_imap_reauthorize_page_is_for_managers_only(tenancy, make_mailbox):
    mailbox = make_mailbox()
    tenancy.client_for(tenancy.admin).post(
        reverse("workspace:add_imap_channel", args=[tenancy.workspace.pk]), _imap_form(mailbox)
    )
    channel = Channel.objects.get(address=mailbox.address)
    url = reverse("channel_reauthorize_password", args=[channel.pk])
    assert tenancy.client_for(tenancy.admin).get(url).status_code == 200
    assert tenancy.client_for(tenancy.member).get(url).status_code == 403
    assert tenancy.client_for(tenancy.outsider).get(url).status_code == 404


def test_imap_password_guesses_stop_per_account_whoever_tries(tenancy, make_mailbox, settings):
    settings.IMAP_LOGIN_ATTEMPTS = 2
    mailbox = make_mailbox("guessed")
    member = tenancy.client_for(tenancy.member)
    for _ in range(2):
        wrong = member.post(reverse("personal:add_imap_channel"), _imap_form(mailbox, password="guess"))
        assert "rejected this user name or password" in wrong.content.decode()
    # The right password now waits out the window too: a guesser cannot tell which try was right.
    right = member.post(reverse("personal:add_imap_channel"), _imap_form(mailbox))
    assert right.status_code == 429 and "Too many sign-in attempts" in right.content.decode()
    # Another person guessing the same account shares its count.
    other = tenancy.client_for(tenancy.admin).post(reverse("personal:add_imap_channel"), _imap_form(mailbox))
    assert other.status_code == 429
    assert not Channel.objects.filter(address=mailbox.address).exists()


def test_imap_password_guesses_stop_per_person_across_accounts(tenancy, make_mailbox, settings):
    settings.IMAP_LOGIN_ATTEMPTS = 2
    first, second, third = make_mailbox("one"), make_mailbox("two"), make_mailbox("three")
    member = tenancy.client_for(tenancy.member)
    for mailbox in (first, second):
        member.post(reverse("personal:add_imap_channel"), _imap_form(mailbox, password="guess"))
    refused = member.post(reverse("personal:add_imap_channel"), _imap_form(third))
    assert refused.status_code == 429 and not Channel.objects.filter(address=third.address).exists()
    # Only that person: someone else connects the untouched account at once.
    admin = tenancy.client_for(tenancy.admin)
    assert admin.post(reverse("personal:add_imap_channel"), _imap_form(third)).status_code == 302


def test_imap_reauthorize_password_guesses_stop_and_keep_the_old_password(tenancy, make_mailbox, settings):
    mailbox = make_mailbox("reauth-guess")
    member = tenancy.client_for(tenancy.member)
    member.post(reverse("personal:add_imap_channel"), _imap_form(mailbox))
    channel = Channel.objects.get(address=mailbox.address)
    settings.IMAP_LOGIN_ATTEMPTS = 2
    url = reverse("channel_reauthorize_password", args=[channel.pk])
    # The connect above took one of the account's two tries; one wrong guess takes the other.
    assert "rejected this password" in member.post(url, {"password": "guess"}).content.decode()
    refused = member.post(url, {"password": mailbox.password})
    assert refused.status_code == 429 and "Too many sign-in attempts" in refused.content.decode()
    assert channel_credentials(channel).password == mailbox.password
