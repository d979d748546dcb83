from datetime import UTC, datetime

import pytest

from channels_app.models import Channel
from channels_app.providers import AuthFailure, Credentials, get_provider
from channels_app.providers.oauth import _credentials
from channels_app.services.credentials import channel_credentials, channel_refresh_tokens, channel_store_credentials


def test_stored_credentials_round_trip_and_are_encrypted(tenancy):
    channel_store_credentials(channel=tenancy.shared_channel, credentials=Credentials(access_token="AT-1"))
    row = Channel.objects.get(pk=tenancy.shared_channel.pk)
    assert "AT-1" not in row.credentials_ciphertext
    assert channel_credentials(row).access_token == "AT-1"
    assert row.token_refreshed_at is not None


def test_a_refresh_without_a_new_refresh_token_keeps_the_old_one():
    before = Credentials(refresh_token="RT-old", granted_at=datetime(2026, 1, 2, tzinfo=UTC))
    kept = _credentials({"access_token": "new", "expires_at": 2_000_000_000}, previous=before)
    assert (kept.access_token, kept.refresh_token) == ("new", "RT-old")
    assert kept.granted_at == before.granted_at, "a refresh keeps the time of the grant"
    rotated = _credentials({"access_token": "new", "refresh_token": "RT-new"}, previous=before)
    assert rotated.refresh_token == "RT-new"


@pytest.mark.local_provider
def test_refresh_stores_the_rotated_token_at_once(tenancy, make_mailbox, connect_local):
    channel = connect_local(tenancy.shared_channel, make_mailbox())
    before = channel_credentials(channel)
    fresh = channel_refresh_tokens(channel=channel)
    stored = channel_credentials(Channel.objects.get(pk=channel.pk))
    assert stored.refresh_token == fresh.refresh_token != before.refresh_token
    # The provider rotated: the old refresh token is dead, so only the stored one can go on.
    with pytest.raises(AuthFailure):
        get_provider(channel.provider).refresh(before)
