"""Tokens through an organisation connection: minted for the mailbox's user (Google) or for our app
(Microsoft), kept in this process's memory until shortly before they expire, never stored.

A refusal of the key tries the previous key once (a rotation in progress); a mailbox login refused with a
fresh token is the organisation's answer, and comes back as an OrganisationGrantFailure that says what the
administrator must grant again.
"""

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar

from django.conf import settings
from django.utils import timezone

from channels_app import crypto
from channels_app.models import Channel, OrganisationConnection, OrganisationProvider
from channels_app.providers import AuthFailure, Credentials, get_provider
from channels_app.providers.gmail import delegation
from channels_app.providers.microsoft import app_access
from channels_app.providers.organisation import GrantMissing, MintedToken, OrganisationGrantFailure

T = TypeVar("T")

# (connection id, secret fingerprint, mailbox or "" for an app token) -> token. Per process: each worker
# mints its own, as each would refresh a channel's token; a new key's fingerprint never meets an old token.
_cache: dict[tuple[int, str, str], MintedToken] = {}


def forget_tokens(connection_id: int | None = None) -> None:
    """Drop cached tokens (of one connection, or all): after its key changed, or in tests."""
    for key in [key for key in _cache if connection_id is None or key[0] == connection_id]:
        del _cache[key]


def _mint_with(connection: OrganisationConnection, secret: dict[str, str], address: str) -> MintedToken:
    if connection.organisation_provider is OrganisationProvider.GOOGLE:
        return delegation.mint_token(
            client_email=connection.client_email,
            private_key_id=secret.get("private_key_id", ""),
            private_key=secret.get("private_key", ""),
            token_uri=get_provider("gmail").values["TOKEN_URL"],
            address=address,
        )
    return app_access.mint_token(
        token_url_template=get_provider("microsoft").values["APP_TOKEN_URL"],
        tenant_id=connection.tenant_id,
        client_id=connection.client_id,
        client_secret=secret.get("client_secret", ""),
    )


def _mint(connection: OrganisationConnection, address: str) -> MintedToken:
    if not connection.secret_ciphertext:
        raise OrganisationGrantFailure("No key has been uploaded yet.", grant=GrantMissing.KEY, code="no key")
    try:
        return _mint_with(connection, crypto.decrypt_json(connection.secret_ciphertext), address)
    except OrganisationGrantFailure as failure:
        if failure.grant is not GrantMissing.KEY or not connection.previous_secret_ciphertext:
            raise
        return _mint_with(connection, crypto.decrypt_json(connection.previous_secret_ciphertext), address)


def organisation_token(
    connection: OrganisationConnection, address: str, *, fresh: bool = False, now: datetime | None = None
) -> tuple[Credentials, bool]:
    """An access token that opens `address`, and whether it was just minted."""
    mailbox = address.lower() if connection.organisation_provider is OrganisationProvider.GOOGLE else ""
    key = (connection.pk, connection.secret_fingerprint, mailbox)
    soon = (now or timezone.now()) + timedelta(seconds=settings.TOKEN_REFRESH_MARGIN_SECONDS)
    cached = _cache.get(key)
    minted = False
    if fresh or cached is None or cached.expires_at <= soon:
        cached, minted = _mint(connection, address), True
        _cache[key] = cached
    return Credentials(access_token=cached.access_token, expires_at=cached.expires_at), minted


def grant_words(connection: OrganisationConnection, missing: str, address: str = "") -> str:
    """What to ask the organisation's administrator for, in words that follow "ask them to"."""
    if connection.organisation_provider is OrganisationProvider.GOOGLE:
        return delegation.grant_again(client_id=connection.client_id, missing=missing, address=address)
    return app_access.grant_again(
        tenant_id=connection.tenant_id,
        client_id=connection.client_id,
        object_id=connection.service_principal_id,
        missing=missing,
        address=address,
    )


def refused_login(connection: OrganisationConnection, failure: AuthFailure, address: str) -> OrganisationGrantFailure:
    """A mailbox refused a token the provider had just minted: the delegation no longer covers the scope
    (Google), or the app has no consent, no service principal or no Full Access to this mailbox (Microsoft)."""
    google = connection.organisation_provider is OrganisationProvider.GOOGLE
    missing = GrantMissing.DELEGATION if google else GrantMissing.MAILBOX
    return OrganisationGrantFailure(
        f"{address} refused the token the organisation connection gave us.",
        grant=missing,
        admin_action=grant_words(connection, missing, address),
        code=failure.code,
        provider_words=failure.provider_words,
    )


def with_organisation_token(
    connection: OrganisationConnection, address: str, call: Callable[[Credentials], T], *, fresh: bool = False
) -> T:
    """`call` with a token for `address`; one refused while cached gets one freshly minted token and one more
    try, and a refusal of a fresh one is the organisation's answer."""
    credentials, minted = organisation_token(connection, address, fresh=fresh)
    try:
        return call(credentials)
    except AuthFailure as failure:
        if minted:
            raise refused_login(connection, failure, address) from None
    credentials, _ = organisation_token(connection, address, fresh=True)
    try:
        return call(credentials)
    except AuthFailure as failure:
        raise refused_login(connection, failure, address) from None


def connection_of(channel: Channel) -> OrganisationConnection:
    """The connection a channel goes through (the caller checked it has one): read fresh, as its key or
    status may have changed since the channel was loaded."""
    connection = channel.organisation_connection
    assert connection is not None
    connection.refresh_from_db()
    return connection


def channel_organisation_call(channel: Channel, call: Callable[[Credentials], T]) -> T:
    """services/mailbox.with_fresh_credentials for a channel that goes through its company's connection."""
    connection = connection_of(channel)
    return with_organisation_token(connection, channel.address, call)
