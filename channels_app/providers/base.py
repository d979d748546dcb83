"""The one interface every mail provider implements, the four kinds of failure it raises, and the reasons
a channel stops for (ReasonCode), each tied to one of those kinds.

Everything above this layer decides on the failure *type* alone and never reads
provider text: each provider's package is the one place that knows what its
answers look like on the wire (`<kind>/errors.py`, checked against
`<kind>/recorded.json`).
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from django.conf import settings
from django.db.models import TextChoices
from imapclient import IMAPClient


class FailureKind(enum.StrEnum):
    """Who can act on a failure; each kind is routed to those people and nobody else. A channel stopped by
    one keeps why in a ReasonCode of that kind (ReasonCode.failure_kind)."""

    AUTH = "auth"  # the mailbox's owner, by reauthorizing
    POLICY = "policy"  # an administrator at the customer's provider; reauthorizing alone will not help
    CONFIGURATION = "configuration"  # our staff: the app's registration with the provider is wrong
    PASSING = "passing"  # nobody: an outage or throttling that passes; back off and retry


class ReasonCode(TextChoices):
    """Why a channel is in its status, stored on it (models.Channel.reason_code) for filtering and for
    choosing who to tell. An auth failure's reason is one of these (AuthFailure.reason), and each reason
    says which kind of failure sets it (`failure_kind`): one taxonomy with FailureKind."""

    NONE = "", "—"
    REVOKED = "revoked", "Access revoked or password changed"
    DISUSE = "disuse", "Token expired from disuse"
    SUBSCRIPTION = "subscription", "Subscription renewal refused"
    MFA = "mfa", "Multi-factor authentication required"
    SIGN_IN_FREQUENCY = "sign_in_frequency", "Sign-in frequency policy"
    STAFF_REQUEST = "staff_request", "Asked for by our support"
    POLICY = "policy", "Blocked by the provider's administrator"
    OUTAGE = "outage", "Provider unreachable"
    # Our own code stopped on the channel (a bug, or input we cannot handle); staff were told.
    CRASH = "crash", "Internal error"
    # The company's organisation connection stopped working: its administrator must grant again, and the
    # channel waits for that without asking its owner anything (services/organisation_health.py).
    ORGANISATION = "organisation", "Waiting for the organisation connection"
    BY_PERSON = "by_person", "Changed by a person"

    @property
    def failure_kind(self) -> FailureKind | None:
        """The kind of provider failure that gives a channel this reason, and so who can act on it; None
        where no provider failed (a person's action, or our own code's crash, which staff alone hear of)."""
        return _FAILURE_KINDS.get(self)

    @property
    def text(self) -> str:
        """What the people who reauthorize are told of an auth failure's reason (the channel's status reason
        and their alert); the other reasons are said otherwise, by whoever records them."""
        return _AUTH_REASON_TEXT.get(self, str(self.label))


_AUTH_REASON_TEXT = {
    ReasonCode.REVOKED: "Access was revoked or the password was changed.",
    ReasonCode.DISUSE: "The authorization expired after going unused for too long.",
    ReasonCode.SUBSCRIPTION: "The provider refused to renew our subscription to this mailbox.",
    ReasonCode.MFA: "The provider now asks for multi-factor authentication: signing in again completes it.",
    ReasonCode.SIGN_IN_FREQUENCY: "The organisation's sign-in policy asks for a fresh sign-in.",
    ReasonCode.STAFF_REQUEST: "Our support team asked for this channel to be reauthorized.",
}

_FAILURE_KINDS = {
    **dict.fromkeys(_AUTH_REASON_TEXT, FailureKind.AUTH),
    ReasonCode.POLICY: FailureKind.POLICY,
    ReasonCode.ORGANISATION: FailureKind.POLICY,
    ReasonCode.OUTAGE: FailureKind.PASSING,
}


class ProviderFailure(Exception):
    """Base of all classified failures.

    `message` is ours and safe to show and log. `code` is the provider's own code for the answer
    (`AADSTS53003`, `[OVERQUOTA]`, `invalid_grant`, `HTTP 429`) and `provider_words` its own
    description, trimmed of trace ids: both come from error fields and response codes, never from
    anything that carries a credential.
    """

    kind: ClassVar[FailureKind]

    def __init__(self, message: str, *, code: str = "", provider_words: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.code = code[:100]
        self.provider_words = provider_words[:300]


class AuthFailure(ProviderFailure):
    """The provider rejected our credentials: only the account's owner can fix it, by reauthorizing."""

    kind = FailureKind.AUTH

    def __init__(self, message: str, reason: ReasonCode = ReasonCode.REVOKED, **kwargs: str) -> None:
        if reason.failure_kind is not FailureKind.AUTH:
            raise ValueError(f"{reason!r} is not a reason for an auth failure")
        super().__init__(message, **kwargs)
        self.reason = reason


class ScopeNotGranted(AuthFailure):
    """The person signed in but did not allow mail access (Google lets them untick it): nothing to keep."""


class PolicyFailure(ProviderFailure):
    """An administrator at the customer's provider blocks us (Conditional Access, disabled user, IMAP off).

    `admin_action` says what to ask that administrator, in a phrase that follows "ask them to".
    """

    kind = FailureKind.POLICY

    def __init__(self, message: str, *, admin_action: str, **kwargs: str) -> None:
        super().__init__(message, **kwargs)
        self.admin_action = admin_action


class ConfigurationFailure(ProviderFailure):
    """Our app's registration with the provider is wrong (client id/secret, app not found): staff must fix it."""

    kind = FailureKind.CONFIGURATION


class PassingFailure(ProviderFailure):
    """Network trouble, an outage or throttling: retry later, never ask anyone to reauthorize.

    `retry_after` (seconds) is the provider's own request to wait; `unrecognised` marks an answer
    this app does not know, which staff are shown so that someone teaches the provider module.
    """

    kind = FailureKind.PASSING

    def __init__(
        self,
        message: str,
        *,
        retry_after: int | None = None,
        unrecognised: bool = False,
        throttled: bool = False,
        **kwargs: str,
    ) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after
        self.unrecognised = unrecognised
        # The provider limits us (rates, connections, daily downloads): however long it lasts, it is
        # not an outage to alert anyone about.
        self.throttled = throttled


def unrecognised(code: str, provider_words: str = "") -> PassingFailure:
    return PassingFailure(
        "Unrecognised answer from the provider; we keep trying.",
        code=code or "unknown",
        provider_words=provider_words,
        unrecognised=True,
    )


class RevokeOutcome(enum.Enum):
    """What happened when we gave a grant back to the provider."""

    REVOKED = "revoked"
    NOTHING_TO_REVOKE = "nothing to revoke"
    UNSUPPORTED = "the provider offers no revocation"
    FAILED = "the provider could not be reached; the grant may still be valid"


@dataclass(frozen=True)
class Credentials:
    """What we keep, encrypted, per channel: OAuth tokens or an IMAP password."""

    access_token: str = ""
    refresh_token: str = ""
    expires_at: datetime | None = None
    password: str = ""
    # When the person granted access (code exchange); refreshes keep it. Google's Testing-mode grants
    # die 7 days after it.
    granted_at: datetime | None = None
    # Only present right after a code exchange; says who signed in. Not stored.
    id_token: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
            "password": self.password,
            "granted_at": self.granted_at.isoformat() if self.granted_at else None,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Credentials:
        expires, granted = data.get("expires_at"), data.get("granted_at")
        return cls(
            access_token=data.get("access_token", ""),
            refresh_token=data.get("refresh_token", ""),
            expires_at=datetime.fromisoformat(expires) if expires else None,
            password=data.get("password", ""),
            granted_at=datetime.fromisoformat(granted) if granted else None,
        )

    def __repr__(self) -> str:
        # Dataclass repr would print the secrets into tracebacks and logs.
        return f"Credentials(expires_at={self.expires_at!r}, has_refresh={bool(self.refresh_token)})"


class ImapSecurity(enum.StrEnum):
    """How an IMAP connection is encrypted. The values are stored on the channel."""

    TLS = "tls"  # implicit TLS from the first byte (port 993)
    STARTTLS = "starttls"  # plain connection upgraded before we log in (port 143)
    NONE = "none"  # the password and the mail travel in the clear

    @property
    def label(self) -> str:
        return _SECURITY_LABELS[self]

    @property
    def usual_port(self) -> int:
        return 993 if self is ImapSecurity.TLS else 143


_SECURITY_LABELS = {
    ImapSecurity.TLS: "TLS",
    ImapSecurity.STARTTLS: "STARTTLS",
    ImapSecurity.NONE: "No encryption",
}


@dataclass(frozen=True)
class ImapEndpoint:
    host: str
    port: int
    security: ImapSecurity
    username: str
    # An OAuth provider's own server, set by staff. Any other endpoint was named by a customer and is held
    # to IMAP_ALLOWED_NETWORKS and IMAP_ALLOWED_PORTS (imap_network.py).
    staff_configured: bool = False


class MailProvider(ABC):
    """One provider: its label, settings, policies, how to authorize, identify, open and give back access.

    `defaults` holds every value settings may override (`settings.MAIL_PROVIDERS[kind]`, read from
    `<KIND>_<NAME>` environment variables in config/mail_providers.py).
    """

    kind: ClassVar[str]
    label: ClassVar[str]
    # Order on the Add channel page, and what its card there says it connects.
    position: ClassVar[int] = 50
    connects: ClassVar[str] = ""
    # Whether the Add channel page shows its card (saying why) while it is not set up for this app.
    listed_unconfigured: ClassVar[bool] = True
    uses_oauth: ClassVar[bool] = True
    defaults: ClassVar[dict[str, Any]] = {}
    # Shown where giving access back matters, for providers without a revocation endpoint.
    revocation_note: ClassVar[str] = ""
    # Whether revoking one token ends the person's whole grant to our app, the tokens of a newer consent
    # included (Google), rather than that token alone (RFC 7009, as django-oauth-toolkit does).
    revocation_ends_grant: ClassVar[bool] = False
    # Gmail shows each message once in its All Mail folder, whatever its labels: read only that.
    sync_all_mail_only: ClassVar[bool] = False
    # New mail is announced over an IMAP IDLE connection held by `manage.py listen` (RFC 2177). Every
    # provider syncs over IMAP today, and Gmail's and Outlook's IMAP servers offer IDLE, so all of them
    # do until a provider has a push of its own (Gmail watch, Graph subscriptions) and turns this off.
    idle_push: ClassVar[bool] = True
    # A delegate's own token opens a shared mailbox when the IMAP login names the shared address (Exchange).
    opens_shared_mailboxes: ClassVar[bool] = False

    @property
    def values(self) -> dict[str, Any]:
        return {**self.defaults, **settings.MAIL_PROVIDERS.get(self.kind, {})}

    # Policies: how long the provider lets a grant go unused, when our standing must be renewed,
    # how many requests a second all our workers together may start.
    @property
    def token_disuse_days(self) -> int:
        return int(self.values.get("TOKEN_DISUSE_DAYS", 0))

    @property
    def renewal_after_hours(self) -> int:
        return int(self.values.get("RENEWAL_AFTER_HOURS", 24))

    @property
    def rate_limit(self) -> int:
        return int(self.values.get("RATE_LIMIT", 20))

    @property
    def daily_download_bytes(self) -> int:
        """Bytes a channel may download a day (0: no limit), under the provider's own daily limit."""
        return int(self.values.get("DAILY_DOWNLOAD_BYTES", 0))

    def is_configured(self) -> bool:
        """Whether staff gave us what this provider needs (client id and secret for OAuth)."""
        return True

    # OAuth 2 (authorization code with PKCE). Password providers do not implement these.
    def authorization_url(self, *, redirect_uri: str, state: str, code_verifier: str, login_hint: str) -> str:
        raise NotImplementedError

    def exchange_code(self, *, code: str, redirect_uri: str, code_verifier: str) -> Credentials:
        raise NotImplementedError

    def refresh(self, credentials: Credentials, scopes: list[str] | None = None) -> Credentials:
        raise NotImplementedError

    def account_address(self, credentials: Credentials) -> str:
        raise NotImplementedError

    def authorize_error(self, query: dict[str, str]) -> ProviderFailure | None:
        """What an `error` in the redirect back from the provider means; None when the person declined."""
        raise NotImplementedError

    def revoke(self, credentials: Credentials) -> RevokeOutcome:
        """Give the grant back to the provider, so that tokens we discard stop working."""
        return RevokeOutcome.NOTHING_TO_REVOKE

    def classify_imap_answer(self, text: str, *, during_login: bool) -> ProviderFailure | None:
        """What a refusal from the provider's IMAP server means, when the provider words it its own way;
        None leaves it to the generic reading of RFC 3501/5530 answers (imap_session.py)."""
        return None

    @abstractmethod
    def imap_endpoint(self, *, address: str, settings: dict[str, Any] | None = None) -> ImapEndpoint:
        """Where the mailbox is; `settings` carries a password channel's own host, port and user."""

    @abstractmethod
    @contextmanager
    def open_mailbox(self, endpoint: ImapEndpoint, credentials: Credentials) -> Iterator[IMAPClient]:
        """An authenticated IMAP connection, logged out when the block ends."""
