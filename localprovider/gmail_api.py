"""Gmail API endpoints of google-persona mailboxes: users.watch, users.stop, users.history.list.

Bearer access tokens are checked as Google checks them (and as our IMAP front's XOAUTH2 is): a live
token of the mailbox with a Gmail scope, else 401 with Google's body. Sources: users.watch
https://developers.google.com/workspace/gmail/api/reference/rest/v1/users/watch ({historyId,
expiration}), users.stop (empty answer), users.history.list
https://developers.google.com/workspace/gmail/api/reference/rest/v1/users.history/list ({history,
historyId}; 404 for a start id Gmail no longer keeps). The error bodies are the main app's recorded
Gmail answers (`watch` and `history` in channels_app/providers/gmail/recorded.json), and a mailbox can
be made to answer watch and stop with any of them (`control.force_answer(..., "watch", NAME)`).
"""

import json
import re
import time
from pathlib import Path

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST
from oauth2_provider.oauth2_backends import get_oauthlib_core

from localprovider import gmail_state, personas, pubsub
from localprovider.instance import instance_from_env
from localprovider.token_views import recorded_response
from localprovider.validator import mailbox_state

# Scopes that allow watch and history: https://developers.google.com/workspace/gmail/api/reference/rest/v1/users/watch#authorization-scopes
GMAIL_SCOPES = {"https://mail.google.com/", "imap"}
TOPIC_NAME = re.compile(r"^projects/[^/]+/topics/[^/]+$")


def _recorded(surface: personas.Surface, name: str) -> HttpResponse:
    return recorded_response(personas.recorded("google", surface)[name])


def _mailbox(request: HttpRequest, *, forced_answers: bool) -> str | HttpResponse:
    """The google-persona mailbox whose live Gmail token the request carries, or the answer refusing it
    (with `forced_answers`, also the mailbox's forced watch answer)."""
    valid, oauth_request = get_oauthlib_core().verify_request(request, scopes=[])
    if not valid:
        return _recorded("watch", "invalid_credentials_401")
    token = oauth_request.access_token
    email = token.user.get_username()
    state = mailbox_state(email)
    if not GMAIL_SCOPES & set(token.scope.split()) or state.persona != "google":
        return _recorded("watch", "invalid_credentials_401")
    if forced_answers and state.watch_answer:
        return _recorded("watch", state.watch_answer)
    return email


def _instance_dir() -> Path:
    # getattr: INSTANCE_DIR exists only in localprovider.settings, which the type checker does not load.
    return getattr(settings, "INSTANCE_DIR")  # noqa: B009


def _bad_request(message: str) -> JsonResponse:
    error = {
        "code": 400,
        "message": message,
        "errors": [{"message": message, "domain": "global", "reason": "invalidArgument"}],
    }
    return JsonResponse({"error": {**error, "status": "INVALID_ARGUMENT"}}, status=400)


@csrf_exempt
@require_POST
def watch(request: HttpRequest) -> HttpResponse:
    email = _mailbox(request, forced_answers=True)
    if isinstance(email, HttpResponse):
        return email
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        return _bad_request("Invalid JSON payload received.")
    topic = str(body.get("topicName") or "") if isinstance(body, dict) else ""
    if not topic:
        return _bad_request("topicName required")
    if not TOPIC_NAME.match(topic):
        return _recorded("watch", "invalid_topic_400")
    # Gmail sends a test message to the topic first: a topic that does not exist fails here.
    if not pubsub.topic_exists(instance_from_env(), topic):
        return _recorded("watch", "project_not_found_404")
    labels = [str(label) for label in body.get("labelIds") or []]
    history_id, expiration = gmail_state.set_watch(
        _instance_dir(), email, topic=topic, label_ids=labels, now_ms=int(time.time() * 1000)
    )
    return JsonResponse({"historyId": str(history_id), "expiration": str(expiration)})


@csrf_exempt
@require_POST
def stop(request: HttpRequest) -> HttpResponse:
    email = _mailbox(request, forced_answers=True)
    if isinstance(email, HttpResponse):
        return email
    gmail_state.stop_watch(_instance_dir(), email)
    return HttpResponse(status=204)


@require_GET
def history(request: HttpRequest) -> HttpResponse:
    email = _mailbox(request, forced_answers=False)
    if isinstance(email, HttpResponse):
        return email
    start = request.GET.get("startHistoryId", "")
    if not start.isdigit():
        return _bad_request("Invalid startHistoryId")
    found = gmail_state.history_since(_instance_dir(), email, int(start))
    if found is None:
        return _recorded("history", "start_history_id_too_old_404")
    current, records = found
    entries = []
    for record_id, added in records:
        messages = [{"id": f"{record_id:x}{n:04x}", "threadId": f"{record_id:x}{n:04x}"} for n in range(added)]
        entries.append(
            {
                "id": str(record_id),
                "messages": messages,
                "messagesAdded": [{"message": {**m, "labelIds": ["INBOX", "UNREAD"]}} for m in messages],
            }
        )
    answer: dict[str, object] = {"historyId": str(current)}
    if entries:
        answer["history"] = entries
    return JsonResponse(answer)
