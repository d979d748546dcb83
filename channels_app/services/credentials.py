"""Reading and writing a channel's encrypted credentials."""

from collections.abc import Callable
from dataclasses import replace

from django.db import transaction
from django.utils import timezone

from channels_app import crypto
from channels_app.models import Channel
from channels_app.providers import AuthFailure, Credentials, get_provider

# A refresh for another resource than the mailbox's (Microsoft Graph): the provider's answer to it.
OtherResourceRefresh = Callable[[Credentials], Credentials]


def channel_credentials(channel: Channel) -> Credentials:
    return Credentials.from_json(crypto.decrypt_json(channel.credentials_ciphertext))


def _stored_credentials(channel: Channel) -> Credentials:
    """What is stored now, not what an instance loaded earlier holds: another worker may have refreshed."""
    return channel_credentials(Channel.objects.only("credentials_ciphertext").get(pk=channel.pk))


def channel_store_credentials(*, channel: Channel, credentials: Credentials) -> None:
    """Save at once: a provider that rotates refresh tokens has already invalidated the old one."""
    channel.credentials_ciphertext = crypto.encrypt_json(credentials.to_json())
    channel.token_expires_at = credentials.expires_at
    fields = ["credentials_ciphertext", "token_expires_at"]
    if credentials.access_token:
        channel.token_refreshed_at = timezone.now()
        fields.append("token_refreshed_at")
    channel.save(update_fields=fields)


def _store_refreshed(*, channel: Channel, used: Credentials, fresh: Credentials, mailbox_token: bool) -> None:
    """Store a refresh's answer merged, under the channel's row lock, with what is stored now: another
    refresh (the other resource's, another worker's) may have stored since `used` was read.

    Kept: the refresh token this answer rotated to, the newest issued (or the stored one, when the
    provider did not rotate: Google); and the mailbox's access token from this answer only when it is
    the mailbox's (`mailbox_token`). A Graph token is kept by its own service, and the stored IMAP token
    stays: Microsoft's access tokens live out their lifetime, whichever refresh came after them."""
    with transaction.atomic():
        row = Channel.objects.select_for_update().get(pk=channel.pk)
        stored = channel_credentials(row)
        refresh_token = fresh.refresh_token if fresh.refresh_token != used.refresh_token else stored.refresh_token
        kept = replace(fresh if mailbox_token else stored, refresh_token=refresh_token, id_token="")
        channel_store_credentials(channel=row, credentials=kept)
    channel.credentials_ciphertext, channel.token_expires_at = row.credentials_ciphertext, row.token_expires_at
    channel.token_refreshed_at = row.token_refreshed_at


def channel_refresh_tokens(*, channel: Channel, other_resource: OtherResourceRefresh | None = None) -> Credentials:
    """Refresh an OAuth channel's tokens and store them before anything else happens; returns the
    provider's answer (`other_resource`: a refresh for another resource's token, stored by its caller).

    Providers that rotate refresh tokens may invalidate the old one the moment they answer, so a crash
    between refreshing and saving would lock us out: the save comes first, in its own small write. The
    refresh starts from the stored refresh token, and one refused while another refresh stored a newer
    one (two workers at once, against a provider that spends used refresh tokens) is tried once more
    with the newer one rather than taken for a revoked grant."""
    refresh = other_resource or get_provider(channel.provider).refresh
    used = _stored_credentials(channel)
    try:
        fresh = refresh(used)
    except AuthFailure:
        newest = _stored_credentials(channel)
        if newest.refresh_token == used.refresh_token:
            raise
        used, fresh = newest, refresh(newest)
    _store_refreshed(channel=channel, used=used, fresh=fresh, mailbox_token=other_resource is None)
    return fresh
