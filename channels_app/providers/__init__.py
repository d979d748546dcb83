"""Mail providers behind one interface (base.MailProvider), named in one registry."""

from channels_app.models import Channel
from channels_app.providers.base import (
    AuthFailure,
    AuthReason,
    ConfigurationFailure,
    Credentials,
    ImapEndpoint,
    MailProvider,
    PassingFailure,
    ProviderFailure,
)
from channels_app.providers.gmail.provider import GmailProvider
from channels_app.providers.imap.provider import ImapPasswordProvider
from channels_app.providers.local.provider import LocalProvider
from channels_app.providers.microsoft.provider import MicrosoftProvider

PROVIDERS: dict[str, type[MailProvider]] = {
    "gmail": GmailProvider,
    "microsoft": MicrosoftProvider,
    "imap": ImapPasswordProvider,
    "local": LocalProvider,
}


def get_provider(kind: str) -> MailProvider:
    return PROVIDERS[kind]()


def channel_endpoint(channel: Channel) -> ImapEndpoint:
    """Where a channel's mailbox is: settings for OAuth providers, the channel's own fields for IMAP."""
    provider = get_provider(channel.provider)
    return provider.imap_endpoint(
        address=channel.address,
        settings={
            "host": channel.imap_host,
            "port": channel.imap_port,
            "ssl": channel.imap_use_tls,
            "username": channel.imap_username,
        },
    )


__all__ = [
    "PROVIDERS",
    "AuthFailure",
    "AuthReason",
    "ConfigurationFailure",
    "Credentials",
    "ImapEndpoint",
    "MailProvider",
    "PassingFailure",
    "ProviderFailure",
    "channel_endpoint",
    "get_provider",
]
