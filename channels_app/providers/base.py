"""The one interface every mail provider implements, and the failure types it raises.

Everything above this layer decides on the failure *type* alone and never reads
exception text: the provider module is the one place that knows what a
provider's errors look like on the wire.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from imapclient import IMAPClient


class AuthReason(enum.StrEnum):
    """Why a provider stopped honouring our access, in words a person understands."""

    REJECTED = "Access was revoked or the password was changed."
    DISUSE = "The authorization expired after going unused for too long."
    SUBSCRIPTION = "The provider refused to renew our subscription to this mailbox."


class ProviderFailure(Exception):
    """Base of all classified failures. The message is safe to show and log: never a credential."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class AuthFailure(ProviderFailure):
    """The provider rejected our credentials: only the account's owner can fix it, by reauthorizing."""

    def __init__(self, message: str, reason: AuthReason = AuthReason.REJECTED) -> None:
        super().__init__(message)
        self.reason = reason


class ConfigurationFailure(ProviderFailure):
    """Our app's registration with the provider is wrong (client id/secret, disabled app): staff must fix it."""


class PassingFailure(ProviderFailure):
    """Network trouble or a provider outage: retry later, never ask anyone to reauthorize."""


@dataclass(frozen=True)
class Credentials:
    """What we keep, encrypted, per channel: OAuth tokens or an IMAP password."""

    access_token: str = ""
    refresh_token: str = ""
    expires_at: datetime | None = None
    password: str = ""
    # Only present right after a code exchange; says who signed in. Not stored.
    id_token: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
            "password": self.password,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Credentials:
        expires = data.get("expires_at")
        return cls(
            access_token=data.get("access_token", ""),
            refresh_token=data.get("refresh_token", ""),
            expires_at=datetime.fromisoformat(expires) if expires else None,
            password=data.get("password", ""),
        )

    def __repr__(self) -> str:
        # Dataclass repr would print the secrets into tracebacks and logs.
        return f"Credentials(expires_at={self.expires_at!r}, has_refresh={bool(self.refresh_token)})"


@dataclass(frozen=True)
class ImapEndpoint:
    host: str
    port: int
    ssl: bool
    username: str


class MailProvider(ABC):
    """One provider: how to authorize, refresh, identify the account and open its mailbox."""

    kind: str
    label: str
    uses_oauth: bool = True

    def is_configured(self) -> bool:
        """Whether staff gave us what this provider needs (client id and secret for OAuth)."""
        return True

    # OAuth 2 (authorization code with PKCE). Password providers do not implement these.
    def authorization_url(self, *, redirect_uri: str, state: str, code_verifier: str, login_hint: str) -> str:
        raise NotImplementedError

    def exchange_code(self, *, code: str, redirect_uri: str, code_verifier: str) -> Credentials:
        raise NotImplementedError

    def refresh(self, credentials: Credentials) -> Credentials:
        raise NotImplementedError

    def account_address(self, credentials: Credentials) -> str:
        raise NotImplementedError

    @abstractmethod
    def imap_endpoint(self, *, address: str, settings: dict[str, Any] | None = None) -> ImapEndpoint:
        """Where the mailbox is; `settings` carries a password channel's own host, port and user."""

    @abstractmethod
    @contextmanager
    def open_mailbox(self, endpoint: ImapEndpoint, credentials: Credentials) -> Iterator[IMAPClient]:
        """An authenticated IMAP connection, logged out when the block ends."""
