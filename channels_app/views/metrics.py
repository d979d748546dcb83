"""The Prometheus endpoint for operators (channels_app/metrics.py says what it holds).

Off (404) until METRICS_TOKEN is set; then only a request with `Authorization: Bearer <METRICS_TOKEN>` gets
the metrics: no header or another scheme 401, a wrong token 403. The token is compared in constant time.
"""

import hashlib
import hmac

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST

from channels_app.metrics import exposition


def _digest(text: str) -> bytes:
    # Digests of equal length, so the comparison takes as long whatever the length of what was sent.
    return hashlib.sha256(text.encode()).digest()


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    token: str = settings.METRICS_TOKEN
    if not token:
        raise Http404("No such page.")
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        response = HttpResponse("A bearer token is needed.\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    if not hmac.compare_digest(_digest(given.strip()), _digest(token)):
        return HttpResponse("Wrong token.\n", status=403, content_type="text/plain")
    return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)
