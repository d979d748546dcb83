"""Opening a channel's mailbox with credentials that work, refreshing them when they must be."""

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import timedelta
from typing import TypeVar

from django.conf import settings
from django.utils import timezone
from imapclient import IMAPClient

from channels_app.models import Channel
from channels_app.providers import AuthFailure, Credentials, ImapEndpoint, ReasonCode, get_provider
from channels_app.services.credentials import OtherResourceRefresh, channel_credentials, channel_refresh_tokens
from channels_app.services.organisation_tokens import channel_organisation_call

T = TypeVar("T")
K = TypeVar("K")


def channel_endpoint(channel: Channel) -> ImapEndpoint:
    """Where a channel's mailbox is: the provider's own host for OAuth, the channel's fields for IMAP."""
    return get_provider(channel.provider).imap_endpoint(
        address=channel.address,
        settings={
            "host": channel.imap_host,
            "port": channel.imap_port,
            "security": channel.imap_security,
            "username": channel.imap_username,
        },
    )


def _disused(channel: Channel) -> bool:
    """Whether the provider has likely dropped our token for going unused (Google: 6 months, Microsoft: 90 days)."""
    days = get_provider(channel.provider).token_disuse_days
    last_used = channel.token_refreshed_at or channel.last_synced_at
    return bool(days and last_used and timezone.now() - last_used > timedelta(days=days))


def refresh_tokens(channel: Channel, other_resource: OtherResourceRefresh | None = None) -> Credentials:
    """Refresh and store (credentials.channel_refresh_tokens; `other_resource`: Microsoft Graph's token);
    an invalid grant on a long-unused token is reported as disuse, not revocation."""
    try:
        return channel_refresh_tokens(channel=channel, other_resource=other_resource)
    except AuthFailure as failure:
        # A provider that says only "revoked" about a grant unused for longer than it allows dropped it for disuse.
        if failure.reason == ReasonCode.REVOKED and _disused(channel):
            raise AuthFailure(
                failure.message, ReasonCode.DISUSE, code=failure.code, provider_words=failure.provider_words
            ) from None
        raise


def usable_credentials(channel: Channel) -> tuple[Credentials, bool]:
    """Credentials to log in with, and whether they were just refreshed."""
    credentials = channel_credentials(channel)
    if not get_provider(channel.provider).uses_oauth:
        return credentials, False
    soon = timezone.now() + timedelta(seconds=settings.TOKEN_REFRESH_MARGIN_SECONDS)
    if credentials.expires_at is None or credentials.expires_at <= soon:
        return refresh_tokens(channel), True
    return credentials, False


@contextmanager
def channel_mailbox(channel: Channel) -> Iterator[IMAPClient]:
    """An authenticated connection to the channel's mailbox.

    An OAuth login refused with a token we believed valid gets one refresh and
    one more try before it counts as an auth failure: a single stale access
    token is not a reason to alarm anyone.
    """
    provider = get_provider(channel.provider)
    endpoint = channel_endpoint(channel)
    with ExitStack() as stack:
        client = with_fresh_credentials(channel, lambda c: stack.enter_context(provider.open_mailbox(endpoint, c)))
        # Every login happens here: the one place that can say the credentials opened the mailbox just now.
        Channel.objects.filter(pk=channel.pk).update(last_login_at=timezone.now())
        yield client


def with_fresh_token(usable: Callable[[], tuple[K, bool]], refresh: Callable[[], K], call: Callable[[K], T]) -> T:
    """`call` with a token (`usable`: it, and whether it was just refreshed); one refused (AuthFailure)
    while we believed it valid gets one `refresh` and one more try. One refused right after a refresh is
    the provider's answer and goes on as it was classified. The one rule for every token we hold: the
    mailbox's (IMAP login, Gmail API) and Microsoft Graph's (services/graph_push.py)."""
    token, refreshed = usable()
    try:
        return call(token)
    except AuthFailure:
        if refreshed:
            raise
    return call(refresh())


def with_fresh_credentials(channel: Channel, call: Callable[[Credentials], T]) -> T:
    """`call` with the channel's credentials, by with_fresh_token's rule (for a password there is
    nothing to refresh; a channel through its company's organisation connection has a token minted)."""
    if channel.organisation_connection_id is not None:
        return channel_organisation_call(channel, call)
    if not get_provider(channel.provider).uses_oauth:
        return call(channel_credentials(channel))
    return with_fresh_token(lambda: usable_credentials(channel), lambda: refresh_tokens(channel), call)
