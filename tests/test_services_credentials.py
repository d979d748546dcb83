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


def _stored(channel) -> Credentials:
    return channel_credentials(Channel.objects.get(pk=channel.pk))


def _holding(channel, access_token: str = "imap-1", refresh_token: str = "rt-1") -> None:
    expires_at = datetime(2030, 1, 1, tzinfo=UTC)
    credentials = Credentials(access_token=access_token, refresh_token=refresh_token, expires_at=expires_at)
    channel_store_credentials(channel=channel, credentials=credentials)


def test_a_graph_refresh_keeps_the_imap_token_another_refresh_stored_meanwhile(tenancy):
    """The Graph refresh read rt-1; while it was under way an IMAP refresh stored imap-2 and rt-2. Ours
    answered rt-3, the newest: kept, beside imap-2 (not the imap-1 it read)."""
    channel = tenancy.shared_channel
    _holding(channel)
    stale = Channel.objects.get(pk=channel.pk)  # a worker's copy, loaded before the IMAP refresh

    def graph_refresh(used: Credentials) -> Credentials:
        assert used.refresh_token == "rt-1"
        channel_store_credentials(
            channel=Channel.objects.get(pk=channel.pk),
            credentials=Credentials(
                access_token="imap-2", refresh_token="rt-2", expires_at=datetime(2030, 1, 2, tzinfo=UTC)
            ),
        )
        return Credentials(access_token="graph-1", refresh_token="rt-3", expires_at=datetime(2030, 1, 3, tzinfo=UTC))

    answer = channel_refresh_tokens(channel=stale, other_resource=graph_refresh)
    assert answer.access_token == "graph-1"
    stored = _stored(channel)
    assert (stored.access_token, stored.refresh_token, stored.expires_at) == (
        "imap-2",
        "rt-3",
        datetime(2030, 1, 2, tzinfo=UTC),
    )
    assert channel_credentials(stale) == stored  # the caller's copy is brought up to date too


def test_a_refresh_starts_from_the_stored_refresh_token_not_a_stale_copy(tenancy):
    channel = tenancy.shared_channel
    _holding(channel)
    stale = Channel.objects.get(pk=channel.pk)
    _holding(channel, refresh_token="rt-2")  # another worker refreshed since `stale` was loaded
    used: list[str] = []

    def refresh(credentials: Credentials) -> Credentials:
        used.append(credentials.refresh_token)
        return Credentials(access_token="graph-1", refresh_token="rt-3", expires_at=datetime(2030, 1, 3, tzinfo=UTC))

    channel_refresh_tokens(channel=stale, other_resource=refresh)
    assert used == ["rt-2"] and _stored(channel).refresh_token == "rt-3"


def test_a_refresh_refused_because_another_spent_the_token_meanwhile_goes_on_with_the_newer_one(tenancy):
    """Two refreshes at once from rt-1, against a provider that spends a used refresh token: the second is
    refused, and tried once more with the one the first stored, not taken for a revoked grant."""
    channel = tenancy.shared_channel
    _holding(channel)
    used: list[str] = []

    def refresh(credentials: Credentials) -> Credentials:
        used.append(credentials.refresh_token)
        if credentials.refresh_token == "rt-1":
            _holding(channel, access_token="imap-2", refresh_token="rt-2")  # the other refresh stores first
            raise AuthFailure("spent", code="invalid_grant")
        return Credentials(access_token="graph-1", refresh_token="rt-3", expires_at=datetime(2030, 1, 3, tzinfo=UTC))

    channel_refresh_tokens(channel=channel, other_resource=refresh)
    assert used == ["rt-1", "rt-2"]
    assert (_stored(channel).access_token, _stored(channel).refresh_token) == ("imap-2", "rt-3")


def test_a_refused_refresh_with_nothing_newer_stored_is_the_providers_answer(tenancy):
    channel = tenancy.shared_channel
    _holding(channel)
    calls: list[str] = []

    def refresh(credentials: Credentials) -> Credentials:
        calls.append(credentials.refresh_token)
        raise AuthFailure("revoked", code="invalid_grant")

    with pytest.raises(AuthFailure):
        channel_refresh_tokens(channel=channel, other_resource=refresh)
    assert calls == ["rt-1"] and _stored(channel).refresh_token == "rt-1"


def test_a_refresh_that_does_not_rotate_keeps_the_stored_refresh_token(tenancy):
    """Google answers no refresh token: the stored one stays, even one stored while ours was under way."""
    channel = tenancy.shared_channel
    _holding(channel)

    def refresh(credentials: Credentials) -> Credentials:
        _holding(channel, refresh_token="rt-2")
        return Credentials(access_token="imap-9", refresh_token=credentials.refresh_token)

    channel_refresh_tokens(channel=channel, other_resource=refresh)
    assert _stored(channel).refresh_token == "rt-2"
