"""Microsoft Graph's calls to us: the validation handshake, change notifications and lifecycle events.

No session and no CSRF token: Graph is the caller. What proves a notification is ours is its clientState
(graph_push._verified). Answers (https://learn.microsoft.com/en-us/graph/change-notifications-delivery-webhooks):
- `?validationToken=…` (when a subscription is created): 200, text/plain, the token as given, within 10 s;
- a notification: 202 within 3 s, the work queued. Items of unknown subscriptions or with a wrong
  clientState are dropped yet answered 202 like the rest: Graph retries failed deliveries and drops
  endpoints that keep failing, and the answer tells a prober nothing about which subscriptions exist;
- a body that is not a notification collection: 400, nothing done.
"""

import json

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from channels_app.services.graph_push import UnreadableNotification, notifications_receive

# Graph's tokens are short; anything far longer is not one of its handshakes.
_MAX_VALIDATION_TOKEN = 1024


def _receive(request: HttpRequest, *, lifecycle: bool) -> HttpResponse:
    token = request.GET.get("validationToken")
    if token is not None:
        if not token or len(token) > _MAX_VALIDATION_TOKEN:
            return JsonResponse({"error": "unusable validationToken"}, status=400)
        return HttpResponse(token, content_type="text/plain; charset=utf-8")
    try:
        notifications_receive(json.loads(request.body), lifecycle=lifecycle)
    except (ValueError, UnreadableNotification):
        return JsonResponse({"error": "expected a JSON notification collection"}, status=400)
    return HttpResponse(status=202)


@csrf_exempt
@require_POST
def graph_notifications(request: HttpRequest) -> HttpResponse:
    return _receive(request, lifecycle=False)


@csrf_exempt
@require_POST
def graph_lifecycle(request: HttpRequest) -> HttpResponse:
    return _receive(request, lifecycle=True)
