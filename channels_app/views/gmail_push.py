"""The webhook Pub/Sub pushes Gmail's notifications to: POST /push/gmail/.

Thin: verify the sender, read the notice, queue the work, answer at once (Pub/Sub waits at most its ack
deadline, 10 s by default, and redelivers what is not acknowledged: https://cloud.google.com/pubsub/docs/push).
A token that does not check out and an address we do not watch get the same 403, so the answer tells a
prober nothing; a body that is not a push gets 400; Google's keys being unreachable gets 503 (Pub/Sub
retries). Never a 500: every refusal is one of these.
"""

import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from channels_app.providers import get_provider
from channels_app.providers.gmail.push import PushRejected, read_notice, verify_sender
from channels_app.services.gmail_push import PushOutcome, push_received

logger = logging.getLogger(__name__)


def push_audience() -> str:
    """The `aud` our push subscription's tokens must carry: GMAIL_PUSH_AUDIENCE, else this endpoint's URL."""
    configured = str(get_provider("gmail").values.get("PUSH_AUDIENCE") or "")
    return configured or settings.SITE_URL + reverse("gmail_push")


def _refused() -> JsonResponse:
    return JsonResponse({"error": "not accepted"}, status=403)


@csrf_exempt  # Pub/Sub's POST, authenticated by its signed token, not a browser form
@require_POST
def gmail_push(request: HttpRequest) -> HttpResponse:
    values = get_provider("gmail").values
    if not values.get("PUBSUB_TOPIC"):
        return _refused()
    try:
        verify_sender(
            values,
            authorization=request.headers.get("Authorization", ""),
            remote_addr=request.META.get("REMOTE_ADDR", ""),
            audience=push_audience(),
        )
    except PushRejected as rejected:
        logger.info("Gmail push refused: %s", rejected.why)
        if rejected.retry:
            return JsonResponse({"error": "try again later"}, status=503)
        return _refused()
    try:
        notice = read_notice(request.body)
    except PushRejected as rejected:
        logger.info("Gmail push unreadable: %s", rejected.why)
        return JsonResponse({"error": "not a Gmail push"}, status=400)
    if push_received(address=notice.address, history_id=notice.history_id) is PushOutcome.UNKNOWN:
        logger.info("Gmail push for an address we do not watch (message %s)", notice.message_id)
        return _refused()
    return HttpResponse(status=204)
