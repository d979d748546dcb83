"""The admin endpoint: `localprovider.control` changes accounts and tokens over loopback HTTP while the
server runs, instead of starting Django in a subprocess for each change (~0.6 s of CPU each).

POST /_control/<action> (an action of `accounts.ACTIONS`), a JSON object as body and
`Authorization: Bearer <admin secret>` (the 0600 file `admin-secret` in the instance dir, which only
root reads). Answers 200 {"result": ...}, 400 {"error": ...}, or 403 to a client that is not on
loopback or shows another secret. Nothing here logs a payload: it holds passwords.
"""

import hmac
import ipaddress
import json

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from localprovider import accounts


def _from_loopback(request: HttpRequest) -> bool:
    try:
        return ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")).is_loopback
    except ValueError:
        return False


def _shows_admin_secret(request: HttpRequest) -> bool:
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    # getattr: ADMIN_SECRET exists only in localprovider.settings, which the type checker does not load.
    expected: str = getattr(settings, "ADMIN_SECRET")  # noqa: B009
    return scheme == "Bearer" and hmac.compare_digest(given.encode(), expected.encode())


@csrf_exempt  # a script's call with a bearer secret, not a browser form
@require_POST
def control_action(request: HttpRequest, action: str) -> JsonResponse:
    if not (_from_loopback(request) and _shows_admin_secret(request)):
        return JsonResponse({"error": "forbidden"}, status=403)
    try:
        payload = json.loads(request.body)
    except ValueError:
        return JsonResponse({"error": "the body is not JSON"}, status=400)
    if not isinstance(payload, dict):
        return JsonResponse({"error": "the body must be a JSON object"}, status=400)
    try:
        result = accounts.perform(action, payload)
    except accounts.AccountError as e:
        return JsonResponse({"error": str(e)}, status=400)
    return JsonResponse({"result": result})
