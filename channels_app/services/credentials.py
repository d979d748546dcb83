"""Reading and writing a channel's encrypted credentials."""

from django.utils import timezone

from channels_app import crypto
from channels_app.models import Channel
from channels_app.providers import Credentials, get_provider


def channel_credentials(channel: Channel) -> Credentials:
    return Credentials.from_json(crypto.decrypt_json(channel.credentials_ciphertext))


def channel_store_credentials(*, channel: Channel, credentials: Credentials) -> None:
    """Save at once: a provider that rotates refresh tokens has already invalidated the old one."""
    channel.credentials_ciphertext = crypto.encrypt_json(credentials.to_json())
    channel.token_expires_at = credentials.expires_at
    fields = ["credentials_ciphertext", "token_expires_at"]
    if credentials.access_token:
        channel.token_refreshed_at = timezone.now()
        fields.append("token_refreshed_at")
    channel.save(update_fields=fields)


def channel_refresh_tokens(*, channel: Channel) -> Credentials:
    """Refresh an OAuth channel's tokens and store them before anything else happens.

    Providers that rotate refresh tokens invalidate the old one the moment they
    answer, so a crash between refreshing and saving would lock us out: the
    save comes first, in its own small write.
    """
    provider = get_provider(channel.provider)
    fresh = provider.refresh(channel_credentials(channel))
    channel_store_credentials(channel=channel, credentials=fresh)
    return fresh
