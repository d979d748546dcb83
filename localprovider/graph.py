"""Microsoft Graph's change notifications for the `microsoft` persona. Plain data, no Django.

Subscriptions are small JSON files under `<instance dir>/graph/` (written by the OAuth server's
`/graph/v1.0/subscriptions` endpoints, graph_views.py), so that `control` can post notifications when
it delivers mail and lifecycle events on command, from whatever process calls it. Shapes as Graph's:
- the validation request: POST {notificationUrl}?validationToken=… (text/plain), which must be answered
  200 with the token as the body within 10 s, or the subscription is refused
  (https://learn.microsoft.com/en-us/graph/change-notifications-delivery-webhooks#notificationurl-validation);
- a notification: {"value": [{subscriptionId, subscriptionExpirationDateTime, changeType, resource,
  resourceData, clientState, tenantId}]} (https://learn.microsoft.com/en-us/graph/api/resources/changenotification,
  example for messages: https://learn.microsoft.com/en-us/graph/outlook-change-notifications-overview);
- a lifecycle notification: the same with `lifecycleEvent` and no changeType
  (https://learn.microsoft.com/en-us/graph/change-notifications-lifecycle-events).
"""

import json
import os
import secrets
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from localprovider.instance import MAIN_CLIENT_ID

# Local mail's one tenant; Graph names the customer's tenant in each notification.
TENANT_ID = "9188040d-6c67-4c5b-b112-36a304b66dad"
# Graph's own limit for the handshake and its wish for notifications (3 s; we wait longer before giving up).
VALIDATION_TIMEOUT_SECONDS = 10
NOTIFY_TIMEOUT_SECONDS = 10
LIFECYCLE_EVENTS = ("reauthorizationRequired", "subscriptionRemoved", "missed")
# Never through an http_proxy of the environment: our URLs are on loopback.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass(frozen=True)
class Subscription:
    id: str
    email: str
    resource: str
    change_type: str
    notification_url: str
    lifecycle_url: str
    client_state: str
    expires: str  # ISO 8601, UTC

    @property
    def expires_at(self) -> datetime:
        return datetime.fromisoformat(self.expires.replace("Z", "+00:00"))

    def as_graph(self) -> dict[str, Any]:
        """The subscription as Graph answers it (clientState is never echoed back)."""
        return {
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#subscriptions/$entity",
            "id": self.id,
            "resource": self.resource,
            "applicationId": MAIN_CLIENT_ID,
            "changeType": self.change_type,
            "clientState": None,
            "notificationUrl": self.notification_url,
            "lifecycleNotificationUrl": self.lifecycle_url,
            "expirationDateTime": self.expires,
            "latestSupportedTlsVersion": "v1_2",
        }


def _dir(instance_dir: Path) -> Path:
    return instance_dir / "graph"


def save(instance_dir: Path, subscription: Subscription) -> None:
    folder = _dir(instance_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{subscription.id}.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(subscription)))
    tmp.chmod(0o600)  # holds the clientState secret
    os.replace(tmp, path)


def load(instance_dir: Path, subscription_id: str) -> Subscription | None:
    if not subscription_id or "/" in subscription_id or subscription_id.startswith("."):
        return None
    try:
        return Subscription(**json.loads((_dir(instance_dir) / f"{subscription_id}.json").read_text()))
    except (FileNotFoundError, ValueError, TypeError):
        return None


def delete(instance_dir: Path, subscription_id: str) -> None:
    if load(instance_dir, subscription_id) is not None:
        (_dir(instance_dir) / f"{subscription_id}.json").unlink(missing_ok=True)


def of_mailbox(instance_dir: Path, email: str, now: datetime | None = None) -> list[Subscription]:
    """The mailbox's subscriptions that have not expired."""
    now = now or datetime.now(UTC)
    found = []
    for path in sorted(_dir(instance_dir).glob("*.json")) if _dir(instance_dir).exists() else []:
        sub = load(instance_dir, path.stem)
        if sub is not None and sub.email == email.lower() and sub.expires_at > now:
            found.append(sub)
    return found


def new_id() -> str:
    return str(uuid.uuid4())


def validate_url(url: str) -> bool:
    """Graph's handshake: POST url?validationToken=… and expect the token back, 200, within 10 s."""
    token = f"Validation: Testing client application reachability for subscription Request-Id: {uuid.uuid4()}"
    sep = "&" if urllib.parse.urlsplit(url).query else "?"
    request = urllib.request.Request(  # noqa: S310 - the URL the client gave, as Graph calls it
        f"{url}{sep}{urllib.parse.urlencode({'validationToken': token})}",
        data=b"",
        headers={"Content-Type": "text/plain; charset=utf-8"},
        method="POST",
    )
    try:
        with _opener.open(request, timeout=VALIDATION_TIMEOUT_SECONDS) as response:
            return bool(response.status == 200 and response.read().decode() == token)
    except (OSError, ValueError):
        return False


def _post(url: str, items: list[dict[str, Any]]) -> int:
    request = urllib.request.Request(  # noqa: S310 - the subscriber's own URL
        url, data=json.dumps({"value": items}).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with _opener.open(request, timeout=NOTIFY_TIMEOUT_SECONDS) as response:
            return int(response.status)
    except urllib.error.HTTPError as refused:
        return int(refused.code)
    except OSError:
        return 0


def _item(sub: Subscription) -> dict[str, Any]:
    return {
        "subscriptionId": sub.id,
        "subscriptionExpirationDateTime": sub.expires,
        "clientState": sub.client_state,
        "tenantId": TENANT_ID,
    }


def notify_created(instance_dir: Path, email: str, count: int) -> list[int]:
    """What Graph sends when `count` messages arrive in the mailbox: one notification per message, to each
    live subscription (Graph may batch several in one POST; one each is the usual case). Returns the
    statuses our subscriber answered (0: no answer)."""
    statuses = []
    for sub in of_mailbox(instance_dir, email):
        for _ in range(count):
            message_id = secrets.token_urlsafe(24)
            item = {
                **_item(sub),
                "changeType": "created",
                "resource": f"Users/{email}/Messages/{message_id}",
                "resourceData": {
                    "@odata.type": "#Microsoft.Graph.Message",
                    "@odata.id": f"Users/{email}/Messages/{message_id}",
                    "@odata.etag": f'W/"{secrets.token_hex(8)}"',
                    "id": message_id,
                },
            }
            statuses.append(_post(sub.notification_url, [item]))
    return statuses


def post_lifecycle(instance_dir: Path, email: str, event: str) -> list[int]:
    """A lifecycle event for each live subscription of the mailbox, as Graph sends it; `subscriptionRemoved`
    also ends the subscription here, as Graph has."""
    if event not in LIFECYCLE_EVENTS:
        raise ValueError(f"unknown lifecycle event {event!r}; one of {', '.join(LIFECYCLE_EVENTS)}")
    statuses = []
    for sub in of_mailbox(instance_dir, email):
        if event == "subscriptionRemoved":
            delete(instance_dir, sub.id)
        item = {**_item(sub), "lifecycleEvent": event, "resource": sub.resource, "resourceData": None}
        statuses.append(_post(sub.lifecycle_url or sub.notification_url, [item]))
    return statuses
