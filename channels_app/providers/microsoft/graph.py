"""Microsoft Graph change notifications for new mail: the subscription's requests and its token.

Graph is another resource than Outlook's IMAP, so it needs its own access token: Microsoft's v2
endpoint issues a token for one resource at a time, and the refresh token of the consent (which
covered both) yields it when the refresh asks for the Graph scope
(https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-auth-code-flow#refresh-the-access-token;
"scopes must all be from a single resource"). The IMAP token is never replaced by it.

The subscription (https://learn.microsoft.com/en-us/graph/api/resources/subscription):
- created with POST /subscriptions: changeType, notificationUrl, lifecycleNotificationUrl, resource,
  expirationDateTime and clientState (at most 128 characters, echoed in every notification);
  https://learn.microsoft.com/en-us/graph/api/subscription-post-subscriptions
- mail subscriptions live at most 10,080 minutes (under 7 days) for basic notifications (the table
  "Maximum length of subscription per resource type" on the subscription resource page);
- renewed with PATCH /subscriptions/{id} and a new expirationDateTime
  (https://learn.microsoft.com/en-us/graph/api/subscription-update), reauthorized with
  POST /subscriptions/{id}/reauthorize (https://learn.microsoft.com/en-us/graph/api/subscription-reauthorize),
  ended with DELETE /subscriptions/{id} (https://learn.microsoft.com/en-us/graph/api/subscription-delete).

Nothing here touches the database: the service (channels_app/services/graph_push.py) stores what it needs.
"""

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from django.conf import settings

from channels_app.providers.base import Credentials, ProviderFailure, unrecognised
from channels_app.providers.microsoft import errors

logger = logging.getLogger(__name__)

GRAPH_SCOPE = "https://graph.microsoft.com/Mail.Read"
# https://learn.microsoft.com/en-us/graph/api/resources/subscription#subscription-lifetime (Outlook message).
MAX_LIFETIME = timedelta(minutes=10080)
# New messages in the Inbox: https://learn.microsoft.com/en-us/graph/outlook-change-notifications-overview
INBOX_RESOURCE = "me/mailFolders('Inbox')/messages"


@dataclass(frozen=True)
class GraphToken:
    access_token: str
    expires_at: datetime


@dataclass(frozen=True)
class Subscription:
    """What Graph answered about one subscription."""

    id: str
    expires_at: datetime
    resource: str


def graph_refresh(provider: Any, credentials: Credentials) -> Credentials:
    """The answer to a refresh asking for Graph: its access token is Graph's (never the IMAP one), its
    refresh token the rotated one (Microsoft sends a new one with every refresh)."""
    fresh: Credentials = provider.refresh(credentials, scopes=graph_scopes())
    if not fresh.expires_at:
        raise unrecognised("graph token without expiry")
    return fresh


def graph_scopes() -> list[str]:
    # offline_access keeps a refresh token coming back with the answer.
    return ["offline_access", _values()["GRAPH_SCOPE"]]


def _values() -> dict[str, Any]:
    from channels_app.providers.registry import get_provider  # here: the registry imports this package

    return get_provider("microsoft").values


def _url(path: str) -> str:
    return f"{str(_values()['GRAPH_URL']).rstrip('/')}/{path.lstrip('/')}"


def _expiry(now: datetime, lifetime: timedelta) -> str:
    when = now + min(lifetime, MAX_LIFETIME - timedelta(minutes=5))
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.0000000Z")


def _parse_time(value: object) -> datetime:
    # Graph writes seven fractional digits, which fromisoformat does not take; whole seconds suffice.
    head = str(value or "").replace("Z", "").partition(".")[0]
    try:
        parsed = datetime.fromisoformat(head)
    except ValueError:
        raise unrecognised("graph subscription without a readable expirationDateTime") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _call(method: str, path: str, token: GraphToken, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """One request to Graph; every way it fails comes out classified (errors.graph_error)."""
    try:
        response = requests.request(
            method,
            _url(path),
            json=body,
            headers={"Authorization": f"Bearer {token.access_token}"},
            # Creating waits for Graph's validation request to our URL (up to 10 s) before it answers.
            timeout=settings.OAUTH_HTTP_TIMEOUT_SECONDS + 10,
        )
    except requests.RequestException:
        raise errors.graph_unreachable() from None
    if response.status_code in (200, 201):
        try:
            data = response.json()
        except ValueError:
            raise unrecognised("unreadable graph answer") from None
        return data if isinstance(data, dict) else {}
    if response.status_code == 204:
        return {}
    failure: ProviderFailure = errors.graph_error(errors.GraphAnswer.from_response(response))
    logger.info("Graph %s %s: %s %s", method, path.split("/")[0], failure.kind, failure.code)
    raise failure


def _subscription(data: dict[str, Any]) -> Subscription:
    if not data.get("id"):
        raise unrecognised("graph subscription without an id")
    return Subscription(str(data["id"]), _parse_time(data.get("expirationDateTime")), str(data.get("resource", "")))


def create_subscription(
    token: GraphToken,
    *,
    notification_url: str,
    lifecycle_url: str,
    client_state: str,
    resource: str,
    now: datetime,
    lifetime: timedelta,
) -> Subscription:
    body = {
        "changeType": "created",
        "notificationUrl": notification_url,
        "lifecycleNotificationUrl": lifecycle_url,
        "resource": resource,
        "expirationDateTime": _expiry(now, lifetime),
        "clientState": client_state,
    }
    return _subscription(_call("POST", "subscriptions", token, body))


def renew_subscription(token: GraphToken, subscription_id: str, *, now: datetime, lifetime: timedelta) -> Subscription:
    data = _call("PATCH", f"subscriptions/{subscription_id}", token, {"expirationDateTime": _expiry(now, lifetime)})
    return _subscription(data)


def reauthorize_subscription(token: GraphToken, subscription_id: str) -> None:
    _call("POST", f"subscriptions/{subscription_id}/reauthorize", token)


def delete_subscription(token: GraphToken, subscription_id: str) -> None:
    _call("DELETE", f"subscriptions/{subscription_id}", token)
