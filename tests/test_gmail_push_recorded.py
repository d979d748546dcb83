"""Gmail's recorded watch and history answers (channels_app/providers/gmail/recorded.json), replayed
in-process: each refused watch or renewal means what its entry says, for the channel and its people."""

from datetime import timedelta

import pytest
from django.utils import timezone

from channels_app.models import ChannelStatus, GmailWatch
from channels_app.providers import Credentials, get_provider
from channels_app.providers.base import AuthFailure, PassingFailure, ProviderFailure
from channels_app.providers.gmail.api import HistoryTooOld
from channels_app.providers.gmail.errors import api_error
from channels_app.providers.recorded import recorded_entries
from channels_app.services.credentials import channel_store_credentials
from channels_app.tasks import renew_subscription_channel
from tests.failure_expectations import assert_meaning

WATCH_CASES = list(recorded_entries("gmail", "watch"))
FRESH_TOKEN = {
    "status": 200,
    "body": {
        "access_token": "access-2",
        "expires_in": 3600,
        "token_type": "Bearer",
        "scope": "https://mail.google.com/",
    },
}


@pytest.fixture
def gmail_api(fake, settings):
    """Gmail's module with push on, its API at the in-process fake; refreshes answer with a fresh token."""
    settings.MAIL_PROVIDERS = {
        **settings.MAIL_PROVIDERS,
        "gmail": {**settings.MAIL_PROVIDERS["gmail"], "API_URL": fake.base_url, "PUBSUB_TOPIC": "projects/p/topics/t"},
    }
    fake.answer = FRESH_TOKEN
    return fake


def _watched_channel(channel):
    channel.provider = "gmail"
    channel.save(update_fields=["provider"])
    live = Credentials(
        access_token="access-1",
        refresh_token="refresh-1",
        expires_at=timezone.now() + timedelta(hours=1),
        granted_at=timezone.now() - timedelta(days=1),
    )
    channel_store_credentials(channel=channel, credentials=live)
    return channel


@pytest.mark.parametrize("name", WATCH_CASES)
def test_each_recorded_watch_answer_is_classified(name):
    entry = recorded_entries("gmail", "watch")[name]
    failure = api_error(entry["status"], entry["body"], None)
    expect = entry["expect"]
    assert isinstance(failure, ProviderFailure)
    assert failure.kind == expect["kind"], (name, failure.message)
    assert failure.code == expect["code"]
    if expect["kind"] == "passing":
        assert isinstance(failure, PassingFailure) and failure.unrecognised == expect.get("unrecognised", False)


@pytest.mark.parametrize("name", WATCH_CASES)
def test_each_refused_renewal_sets_the_channel_and_alerts_the_right_people(
    name, gmail_api, tenancy, people, django_capture_on_commit_callbacks
):
    entry = recorded_entries("gmail", "watch")[name]
    gmail_api.api_answer = entry
    channel = _watched_channel(tenancy.shared_channel)
    with django_capture_on_commit_callbacks(execute=True):
        result = renew_subscription_channel(channel.pk)
    assert_meaning(channel, entry["expect"], people, result)
    assert not GmailWatch.objects.filter(channel=channel).exists()


def test_a_401_is_retried_once_with_a_refreshed_token_before_it_counts(gmail_api, tenancy):
    gmail_api.api_answer = recorded_entries("gmail", "watch")["invalid_credentials_401"]
    channel = _watched_channel(tenancy.shared_channel)
    renew_subscription_channel(channel.pk)
    paths = [post["path"][0] for post in gmail_api.posts]
    assert paths == ["/gmail/v1/users/me/watch", "/token", "/gmail/v1/users/me/watch"]
    channel.refresh_from_db()
    assert channel.status == ChannelStatus.NEEDS_REAUTH and channel.reason_code == "subscription"


def test_an_accepted_watch_is_stored_with_its_history_id_and_expiry(gmail_api, tenancy):
    expires = timezone.now() + timedelta(days=7)
    gmail_api.api_answer = {
        "status": 200,
        "body": {"historyId": "4242", "expiration": str(int(expires.timestamp() * 1000))},
    }
    channel = _watched_channel(tenancy.shared_channel)
    assert "ok" in renew_subscription_channel(channel.pk)
    watch = GmailWatch.objects.get(channel=channel)
    assert watch.history_id == 4242 and abs(watch.expires_at - expires) < timedelta(seconds=1)
    channel.refresh_from_db()
    assert channel.subscription_renewed_at is not None
    # A renewal keeps the history id we have read up to: nothing between the two is skipped.
    gmail_api.api_answer = {
        "status": 200,
        "body": {"historyId": "9999", "expiration": str(int(expires.timestamp() * 1000))},
    }
    renew_subscription_channel(channel.pk)
    assert GmailWatch.objects.get(channel=channel).history_id == 4242


def test_a_history_id_gmail_no_longer_keeps_reads_as_too_old(gmail_api):
    gmail_api.api_answer = recorded_entries("gmail", "history")["start_history_id_too_old_404"]
    with pytest.raises(HistoryTooOld):
        get_provider("gmail").history_since(Credentials(access_token="access-1"), 12)  # type: ignore[attr-defined]


def test_an_auth_failure_of_the_renewal_carries_the_subscription_reason(gmail_api, tenancy):
    gmail_api.api_answer = recorded_entries("gmail", "watch")["invalid_credentials_401"]
    failure = api_error(401, gmail_api.api_answer["body"], None)
    assert isinstance(failure, AuthFailure)
    channel = _watched_channel(tenancy.shared_channel)
    renew_subscription_channel(channel.pk)
    channel.refresh_from_db()
    assert channel.reason_code == "subscription" and "renew our subscription" in channel.status_reason
