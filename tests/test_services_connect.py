"""Grants we let go of go back to the provider: disconnecting, a refused wrong account, a refused duplicate;
checking a new IMAP channel's login."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from channels_app.models import Channel, ChannelStatus, Inbox, Message
from channels_app.providers import Credentials, ImapEndpoint, ImapSecurity, PassingFailure, RevokeOutcome, get_provider
from channels_app.providers.base import AuthFailure, ConfigurationFailure
from channels_app.providers.imap_network import Deadline
from channels_app.providers.oauth import TokenAnswer
from channels_app.services import connect as connect_services
from channels_app.services.connect import (
    ChannelBusy,
    Removed,
    WrongAccount,
    channel_disconnect,
    channel_remove,
    imap_verify_login,
)
from channels_app.services.credentials import channel_credentials, channel_store_credentials
from channels_app.services.grants import grant_discard
from channels_app.services.health import CheckOutcome, run_check
from channels_app.services.lease import channel_lease
from tests.network_fakes import dribble_after_login, listening


def _revoked(fake) -> list[str]:
    return [post["token"][0] for post in fake.posts if post["path"] == ["/revoke"]]


def _with_tokens(channel: Channel, kind: str, refresh: str = "refresh-1") -> Channel:
    channel.provider = kind
    channel.save(update_fields=["provider"])
    channel_store_credentials(channel=channel, credentials=Credentials(access_token="a", refresh_token=refresh))
    return channel


def test_disconnect_gives_the_grant_back_and_forgets_the_credentials(fake, tenancy):
    channel = _with_tokens(tenancy.shared_channel, "gmail")
    event, outcome = channel_disconnect(channel=channel, actor=tenancy.admin)
    channel.refresh_from_db()
    assert outcome == RevokeOutcome.REVOKED and _revoked(fake) == ["refresh-1"]
    assert channel.credentials_ciphertext == "" and channel.status == ChannelStatus.DISCONNECTED
    assert event is not None and event.actor == tenancy.admin


def test_disconnecting_microsoft_says_that_microsoft_cannot_take_access_back(fake, tenancy):
    channel = _with_tokens(tenancy.shared_channel, "microsoft")
    client = tenancy.client_for(tenancy.admin)
    settings_page = client.get(reverse("channel_settings", args=[channel.pk])).content.decode()
    assert "Microsoft offers apps no way to give their access back" in settings_page
    confirm = client.get(reverse("channel_disconnect", args=[channel.pk])).content.decode()
    assert "Microsoft offers apps no way to give their access back" in confirm
    response = client.post(reverse("channel_disconnect", args=[channel.pk]), follow=True)
    assert "Microsoft offers apps no way to give their access back" in response.content.decode()
    assert not _revoked(fake)


def test_a_grant_another_channel_still_uses_is_not_revoked(fake, tenancy):
    # Google ends the whole grant of an account: revoking would cut off the other channel.
    _with_tokens(tenancy.member_channel, "gmail")
    outcome = grant_discard(
        provider_kind="gmail", credentials=Credentials(refresh_token="stray"), address=tenancy.member_channel.address
    )
    assert outcome == RevokeOutcome.NOTHING_TO_REVOKE and not _revoked(fake)


def test_a_wrong_account_is_refused_and_its_grant_given_back(fake, tenancy):

    channel = _with_tokens(tenancy.shared_channel, "gmail", refresh="kept")
    client = tenancy.client_for(tenancy.admin)
    start = client.post(reverse("channel_reauthorize", args=[channel.pk]))
    state = start["Location"].split("state=")[1].split("&")[0]
    fake.answer = {
        "status": 200,
        "body": {
            "access_token": "other-access",
            "token_type": "Bearer",
            "expires_in": 3600,
            "refresh_token": "other-refresh",
            "scope": "https://mail.google.com/ openid https://www.googleapis.com/auth/userinfo.email",
            "id_token": fake.sign_id_token(
                iss="https://issuer.test", aud="test-client", sub="2", email="jsmith@acme.test", email_verified=True
            ),
        },
    }
    page = client.get(reverse("oauth_callback"), {"code": "c", "state": state}, follow=True).content.decode()
    assert "You signed in as jsmith@acme.test, but this channel is support@acme.test" in page
    assert _revoked(fake) == ["other-refresh"]


def test_google_testing_mode_expiry_is_a_configuration_failure_only_seven_days_after_the_grant(settings):
    settings.MAIL_PROVIDERS = {
        **settings.MAIL_PROVIDERS,
        "gmail": {**settings.MAIL_PROVIDERS["gmail"], "TESTING_MODE": True},
    }
    provider = get_provider("gmail")
    answer = TokenAnswer(
        400, {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}, None
    )
    week_old = Credentials(granted_at=timezone.now() - timedelta(days=7))
    day_old = Credentials(granted_at=timezone.now() - timedelta(days=1))
    failure = provider.token_error(answer, week_old)
    assert isinstance(failure, ConfigurationFailure) and "Testing mode" in failure.message
    assert isinstance(provider.token_error(answer, day_old), AuthFailure)
    settings.MAIL_PROVIDERS = {
        **settings.MAIL_PROVIDERS,
        "gmail": {**settings.MAIL_PROVIDERS["gmail"], "TESTING_MODE": False},
    }
    assert isinstance(get_provider("gmail").token_error(answer, week_old), AuthFailure)


@pytest.mark.parametrize("kind", ["gmail", "microsoft", "local", "imap"])
def test_every_provider_has_a_label_policies_and_a_position(kind):
    provider = get_provider(kind)
    assert provider.label and provider.renewal_after_hours > 0 and provider.rate_limit > 0


@pytest.mark.local_provider
@pytest.mark.parametrize(("kind", "persona"), [("local", "plain"), ("gmail", "google")])
def test_after_disconnecting_the_old_token_no_longer_opens_anything_at_the_provider(
    kind, persona, tenancy, make_mailbox, connect_local
):
    import requests

    channel = connect_local(tenancy.shared_channel, make_mailbox(persona=persona), kind)
    token = channel_credentials(channel).access_token
    userinfo = get_provider(kind).values["USERINFO_URL"]
    assert requests.get(userinfo, headers={"Authorization": f"Bearer {token}"}, timeout=5).status_code == 200
    _event, outcome = channel_disconnect(channel=channel, actor=tenancy.admin)
    assert outcome == RevokeOutcome.REVOKED
    assert requests.get(userinfo, headers={"Authorization": f"Bearer {token}"}, timeout=5).status_code == 401
    assert Channel.objects.get(pk=channel.pk).credentials_ciphertext == ""


def test_checking_a_new_imap_channel_cannot_be_held_by_a_server_that_dribbles_after_login(
    settings, allow_port, monkeypatch
):
    settings.IMAP_LOGIN_DEADLINE_SECONDS = 0.5
    expired: list[Deadline] = []

    class WatchedDeadline(Deadline):
        def _expire(self) -> None:
            super()._expire()
            expired.append(self)

    monkeypatch.setattr(connect_services, "Deadline", WatchedDeadline)
    with listening(dribble_after_login) as server:
        endpoint = ImapEndpoint("127.0.0.1", allow_port(server.port), ImapSecurity.NONE, "me")
        with pytest.raises(PassingFailure):
            imap_verify_login(imap=endpoint, password="pw")
    assert len(expired) == 1, "the SELECT's deadline cut the reply short"


def test_a_refused_duplicate_gives_its_grant_back(fake, tenancy):
    # The channel already here was disconnected, so it holds no grant the revocation could cut off.
    existing = tenancy.shared_channel
    existing.provider, existing.credentials_ciphertext = "gmail", ""
    existing.save(update_fields=["provider", "credentials_ciphertext"])
    client = tenancy.client_for(tenancy.admin)
    start = client.post(
        reverse("company:add_channel"), {"provider": "gmail", "workspace": tenancy.workspace.pk, "inbox_name": "Again"}
    )
    state = start["Location"].split("state=")[1].split("&")[0]
    fake.answer = {
        "status": 200,
        "body": {
            "access_token": "dup-access",
            "token_type": "Bearer",
            "expires_in": 3600,
            "refresh_token": "dup-refresh",
            "scope": "https://mail.google.com/ openid https://www.googleapis.com/auth/userinfo.email",
            "id_token": fake.sign_id_token(
                iss="https://issuer.test", aud="test-client", sub="3", email=existing.address, email_verified=True
            ),
        },
    }
    page = client.get(reverse("oauth_callback"), {"code": "c", "state": state}, follow=True).content.decode()
    assert f"{existing.address} is already connected in your company" in page
    assert _revoked(fake) == ["dup-refresh"]
    assert Channel.objects.filter(address__iexact=existing.address).count() == 1


def test_a_wrong_account_of_the_channels_own_domain_explains_single_sign_on_and_the_ways_out():
    sso = WrongAccount(used="jsmith@acme.test", expected="support@acme.test")
    assert sso.same_domain
    assert "single sign-on" in str(sso)
    assert "send a reauthorization link to whoever holds support@acme.test" in str(sso)
    assert "private window" in str(sso)
    through_link = sso.message(through_link=True)
    assert "private window" in through_link and "send a reauthorization link" not in through_link
    other = WrongAccount(used="me@gmail.test", expected="support@acme.test")
    assert not other.same_domain and "single sign-on" not in str(other)


def test_disconnect_closes_the_channels_open_alerts(fake, tenancy, make_notification):
    channel = _with_tokens(tenancy.shared_channel, "gmail")
    alert = make_notification(recipient=tenancy.admin, channel=channel, kind="needs_reauth")
    channel_disconnect(channel=channel, actor=tenancy.admin)
    alert.refresh_from_db()
    assert alert.resolved_at is not None


def test_remove_deletes_the_inbox_with_its_messages_and_gives_the_grant_back(fake, tenancy, make_message):
    channel = _with_tokens(tenancy.shared_channel, "gmail")
    inbox_pk = channel.inbox.pk
    for uid in (1, 2, 3):
        make_message(channel=channel, uid=uid)
    kept = make_message(channel=tenancy.member_channel, uid=1)
    removed = channel_remove(channel=channel, actor=tenancy.admin)
    assert removed == Removed(
        address="support@acme.test", inbox_name="Support", messages=3, given_back=RevokeOutcome.REVOKED
    )
    assert _revoked(fake) == ["refresh-1"]
    assert not Channel.objects.filter(pk=channel.pk).exists() and not Inbox.objects.filter(pk=inbox_pk).exists()
    assert not Message.objects.filter(channel_id=channel.pk).exists()
    assert Message.objects.filter(pk=kept.pk).exists()  # another channel's mail is untouched


def test_removing_a_disconnected_channel_has_nothing_left_to_give_back(fake, tenancy):
    channel = _with_tokens(tenancy.shared_channel, "gmail")
    channel_disconnect(channel=channel, actor=tenancy.admin)
    fake.posts.clear()
    removed = channel_remove(channel=channel, actor=tenancy.admin)
    assert removed.given_back == RevokeOutcome.NOTHING_TO_REVOKE and not _revoked(fake)
    assert not Channel.objects.filter(pk=channel.pk).exists()


def test_a_channel_a_job_holds_is_not_removed(fake, tenancy):
    channel = _with_tokens(tenancy.shared_channel, "gmail")
    with channel_lease(channel.pk) as lease:
        assert lease is not None
        with pytest.raises(ChannelBusy):
            channel_remove(channel=channel, actor=tenancy.admin)
    channel.refresh_from_db()
    assert channel.status == ChannelStatus.ACTIVE and channel.credentials_ciphertext and not _revoked(fake)


def test_a_job_queued_for_a_removed_channel_is_skipped(fake, tenancy):
    channel = _with_tokens(tenancy.shared_channel, "gmail")
    channel_remove(channel=channel, actor=tenancy.admin)
    result = run_check(channel.pk, lambda _channel: "never run", cause="sync task")
    assert (result.outcome, result.detail) == (CheckOutcome.SKIPPED, "removed")
