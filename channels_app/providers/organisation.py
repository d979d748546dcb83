"""What Google's domain-wide delegation and Microsoft's application access for IMAP share: a token minted
without any person (RFC 7523's JWT bearer grant, or RFC 6749's client credentials), the one failure type
that names what the organisation's administrator must grant again, and the one call to the token endpoint.

Each provider's home says how its own answers read (gmail/delegation.py, microsoft/app_access.py).
"""

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import requests
from django.conf import settings
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from channels_app.providers.base import PassingFailure, PolicyFailure, ProviderFailure, unrecognised
from channels_app.providers.oauth import TokenAnswer


class GrantMissing(enum.StrEnum):
    """What the organisation's administrator must do again; the values are stored on the connection."""

    # Google: the service account's client id is not (or no longer) in Domain-wide delegation for the scope.
    DELEGATION = "delegation"
    # Microsoft: the app is not consented to in the tenant (or the consent was withdrawn).
    CONSENT = "consent"
    # Microsoft: the service principal has no Full Access to this mailbox (or is not registered in Exchange);
    # Google: the address is no user of the Workspace.
    MAILBOX = "mailbox"
    # The uploaded key or secret is refused (deleted, expired, or another one).
    KEY = "key"
    # The tenant named is not found.
    SETTINGS = "settings"


class OrganisationGrantFailure(PolicyFailure):
    """The organisation's administrator withdrew or never gave what the connection needs: only a company
    admin (with the organisation's administrator) can fix it, never a channel's owner by reauthorizing."""

    def __init__(self, message: str, *, grant: GrantMissing, admin_action: str = "", **kwargs: str) -> None:
        super().__init__(message, admin_action=admin_action or "grant the organisation connection again", **kwargs)
        self.grant = grant


@dataclass(frozen=True)
class MintedToken:
    access_token: str
    expires_at: datetime

    def __repr__(self) -> str:
        return f"MintedToken(expires_at={self.expires_at!r})"


@sensitive_variables("data")
def post_for_token(
    url: str,
    data: Mapping[str, str],
    classify: Callable[[TokenAnswer], ProviderFailure | None],
    *,
    now: datetime | None = None,
) -> MintedToken:
    """POST to the token endpoint; a 200 with a token comes back as one, anything else raises a classified
    failure (`classify` reads the provider's own codes first, None leaves the answer to the shared reading)."""
    try:
        response = requests.post(url, data=dict(data), timeout=settings.OAUTH_HTTP_TIMEOUT_SECONDS)
    except requests.RequestException:
        raise PassingFailure("The provider's token service could not be reached.", code="network") from None
    answer = TokenAnswer.from_response(response)
    if response.status_code == 200 and isinstance(answer.body, dict):
        token, lifetime = answer.body.get("access_token"), answer.body.get("expires_in", 3600)
        if isinstance(token, str) and token and isinstance(lifetime, int | str) and str(lifetime).isdigit():
            return MintedToken(token, (now or timezone.now()) + timedelta(seconds=int(lifetime)))
        raise unrecognised("unreadable token answer")
    failure = classify(answer)
    if failure is not None:
        raise failure
    if answer.status == 429 or answer.status >= 500 or answer.error in ("temporarily_unavailable", "server_error"):
        raise PassingFailure(
            "The provider's token service is having trouble.",
            code=answer.error or f"HTTP {answer.status}",
            retry_after=answer.retry_after,
            throttled=answer.status == 429,
        )
    raise unrecognised(answer.error or f"HTTP {answer.status}", answer.description)
