"""Graph's subscription endpoints for the microsoft persona: create, renew, reauthorize, delete.

Paths as Graph's under /graph/v1.0/ (graph.microsoft.com/v1.0/...). The bearer token must be one we
issued with Graph's audience (scope https://graph.microsoft.com/Mail.Read): the IMAP token, whose
audience is Outlook, is refused 401 as Graph refuses a token for another resource. A mailbox's forced
`graph_answer` (control.force_answer(..., "graph", NAME)) answers create, renew and reauthorize with that
recorded answer, changing nothing. Sources: graph.py.
"""

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from oauth2_provider.models import AccessToken

from localprovider import graph, personas, scopes
from localprovider.token_views import _checksum, recorded_response
from localprovider.validator import mailbox_state

# https://learn.microsoft.com/en-us/graph/api/resources/subscription#subscription-lifetime (Outlook message).
MAX_LIFETIME = timedelta(minutes=10080)


def _instance_dir() -> Any:
    return getattr(settings, "INSTANCE_DIR")  # noqa: B009 - only in localprovider.settings


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message}}, status=status)


def _recorded(name: str) -> HttpResponse:
    return recorded_response(personas.recorded("microsoft", "graph")[name])


def _owner(request: HttpRequest) -> str | None:
    """The mailbox of a live access token with Graph's audience."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme != "Bearer" or not token:
        return None
    access = (
        AccessToken.objects.filter(token_checksum=_checksum(token), expires__gt=timezone.now())
        .select_related("user")
        .first()
    )
    if access is None or access.user is None or scopes.GRAPH_MAIL_SCOPE not in access.scope.split():
        return None
    return str(access.user.get_username())


def _expiry(body: dict[str, Any]) -> str | None:
    """The asked-for expiry, written as Graph writes it, if it is in the future and within the limit."""
    text = str(body.get("expirationDateTime", "")).replace("Z", "")
    try:
        # Seven fractional digits (Graph's own writing) are more than fromisoformat takes.
        when = datetime.fromisoformat(text.partition(".")[0]).replace(tzinfo=UTC)
    except ValueError:
        return None
    now = datetime.now(UTC)
    if not now < when <= now + MAX_LIFETIME:
        return None
    return when.strftime("%Y-%m-%dT%H:%M:%S.0000000Z")


def _body(request: HttpRequest) -> dict[str, Any] | None:
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _authorised(request: HttpRequest) -> tuple[str | None, HttpResponse | None]:
    email = _owner(request)
    if email is None:
        return None, _recorded("invalid_authentication_token")
    forced = mailbox_state(email).graph_answer
    if forced is not None:
        return email, _recorded(forced)
    return email, None


@csrf_exempt
def subscriptions(request: HttpRequest) -> HttpResponse:
    """POST /subscriptions: validates both URLs (the handshake) before answering 201."""
    if request.method != "POST":
        return _error(405, "Request_BadRequest", "Only POST is served here.")
    email, refused = _authorised(request)
    if refused is not None or email is None:
        return refused or _recorded("invalid_authentication_token")
    body = _body(request)
    if body is None:
        return _error(400, "BadRequest", "Unable to read JSON request payload.")
    expires = _expiry(body)
    notification_url = str(body.get("notificationUrl", ""))
    client_state = body.get("clientState")
    if expires is None:
        return _error(400, "InvalidRequest", "Subscription expiration can only be 10080 minutes in the future.")
    if not notification_url or (isinstance(client_state, str) and len(client_state) > 128):
        return _error(400, "InvalidRequest", "notificationUrl is required; clientState takes at most 128 characters.")
    lifecycle_url = str(body.get("lifecycleNotificationUrl", ""))
    for url in filter(None, (notification_url, lifecycle_url)):
        if not graph.validate_url(url):
            return _recorded("validation_request_failed")
    sub = graph.Subscription(
        id=graph.new_id(),
        email=email,
        resource=str(body.get("resource", "")),
        change_type=str(body.get("changeType", "")),
        notification_url=notification_url,
        lifecycle_url=lifecycle_url,
        client_state=client_state if isinstance(client_state, str) else "",
        expires=expires,
    )
    graph.save(_instance_dir(), sub)
    return JsonResponse(sub.as_graph(), status=201)


@csrf_exempt
def subscription(request: HttpRequest, subscription_id: str) -> HttpResponse:
    """PATCH /subscriptions/{id} (a new expirationDateTime) and DELETE /subscriptions/{id}."""
    email, refused = _authorised(request)
    if refused is not None or email is None:
        return refused or _recorded("invalid_authentication_token")
    sub = graph.load(_instance_dir(), subscription_id)
    if sub is None or sub.email != email or sub.expires_at <= datetime.now(UTC):
        return _recorded("subscription_not_found")
    if request.method == "DELETE":
        graph.delete(_instance_dir(), subscription_id)
        return HttpResponse(status=204)
    if request.method != "PATCH":
        return _error(405, "Request_BadRequest", "Only PATCH and DELETE are served here.")
    body = _body(request)
    expires = _expiry(body) if body is not None else None
    if expires is None:
        return _error(400, "InvalidRequest", "Subscription expiration can only be 10080 minutes in the future.")
    renewed = graph.Subscription(**{**sub.__dict__, "expires": expires})
    graph.save(_instance_dir(), renewed)
    return JsonResponse(renewed.as_graph())


@csrf_exempt
def reauthorize(request: HttpRequest, subscription_id: str) -> HttpResponse:
    """POST /subscriptions/{id}/reauthorize: 204 No Content."""
    if request.method != "POST":
        return _error(405, "Request_BadRequest", "Only POST is served here.")
    email, refused = _authorised(request)
    if refused is not None or email is None:
        return refused or _recorded("invalid_authentication_token")
    sub = graph.load(_instance_dir(), subscription_id)
    if sub is None or sub.email != email:
        return _recorded("subscription_not_found")
    return HttpResponse(status=204)
