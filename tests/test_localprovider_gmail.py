"""Local mail's Gmail side: users.watch, users.stop and users.history.list for google-persona mailboxes,
and the Pub/Sub push a delivery to a watched mailbox makes, signed so the app's own checks accept it."""

import base64
import json
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from channels_app.providers.gmail.push import read_notice, verify_sender
from localprovider import control

pytestmark = pytest.mark.local_provider


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[tuple[dict[str, str], bytes]]]]:
    """A push endpoint on loopback that keeps what it is sent."""
    got: list[tuple[dict[str, str], bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            got.append((dict(self.headers), body))
            self.send_response(204)
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/push/gmail/", got
    server.shutdown()
    server.server_close()


@pytest.fixture
def google_box(make_mailbox, local_provider):
    mailbox = make_mailbox(persona="google")
    token = control.issue_tokens(local_provider, [mailbox.address])[mailbox.address]["access_token"]
    return mailbox.address, {"Authorization": f"Bearer {token}"}


def _api(local_provider, path: str) -> str:
    return f"{local_provider.base_url}/gmail/v1/users/me/{path}"


def _topic(local_provider, endpoint: str) -> str:
    topic = f"projects/local-mail/topics/t-{uuid.uuid4().hex[:8]}"
    control.create_push_subscription(local_provider, topic, endpoint)
    return topic


def test_watch_without_a_valid_token_is_refused_as_google_does(local_provider):
    answer = requests.post(_api(local_provider, "watch"), headers={"Authorization": "Bearer nope"}, timeout=10)
    assert answer.status_code == 401
    assert answer.json()["error"]["errors"][0]["reason"] == "authError"


def test_watch_checks_the_topic_like_gmail(local_provider, google_box):
    _address, auth = google_box
    malformed = requests.post(_api(local_provider, "watch"), json={"topicName": "gmail"}, headers=auth, timeout=10)
    assert malformed.status_code == 400 and "Invalid topicName" in malformed.text
    missing = requests.post(
        _api(local_provider, "watch"), json={"topicName": "projects/x/topics/none"}, headers=auth, timeout=10
    )
    assert missing.status_code == 404


def test_a_watched_delivery_is_pushed_signed_and_listed_in_history(local_provider, google_box, receiver, settings):
    address, auth = google_box
    endpoint, got = receiver
    topic = _topic(local_provider, endpoint)
    watched = requests.post(_api(local_provider, "watch"), json={"topicName": topic}, headers=auth, timeout=10).json()
    expires_in = int(watched["expiration"]) / 1000 - time.time()
    assert 7 * 86400 - 60 < expires_in <= 7 * 86400
    control.append_messages(local_provider, address, [control.make_message(recipient=address)] * 2)

    ((headers, body),) = got
    notice = read_notice(body)
    assert notice.address == address and notice.history_id == int(watched["historyId"]) + 1
    envelope = json.loads(body)
    assert envelope["subscription"].startswith("projects/local-mail/subscriptions/")
    assert {"messageId", "publishTime", "attributes"} <= set(envelope["message"])
    # The app's own verification accepts Local mail's token for the subscription's audience (its endpoint).
    values = settings.MAIL_PROVIDERS["gmail"]
    gmail = {"PUSH_VERIFY": "oidc", **{k: values[k] for k in ("PUSH_JWKS_URL", "PUSH_ISSUER", "PUSH_SERVICE_ACCOUNT")}}
    verify_sender(gmail, authorization=headers["Authorization"], remote_addr="127.0.0.1", audience=endpoint)

    history = requests.get(
        _api(local_provider, "history"), params={"startHistoryId": watched["historyId"]}, headers=auth, timeout=10
    ).json()
    assert history["historyId"] == str(notice.history_id)
    assert [len(h["messagesAdded"]) for h in history["history"]] == [2]


def test_after_stop_and_without_a_watch_nothing_is_pushed(local_provider, google_box, receiver):
    address, auth = google_box
    endpoint, got = receiver
    topic = _topic(local_provider, endpoint)
    requests.post(_api(local_provider, "watch"), json={"topicName": topic}, headers=auth, timeout=10)
    assert requests.post(_api(local_provider, "stop"), headers=auth, timeout=10).status_code == 204
    control.append_messages(local_provider, address, [control.make_message(recipient=address)])
    assert got == [] and control.gmail_watch(local_provider, address) is None


def test_a_forgotten_history_answers_404(local_provider, google_box):
    address, auth = google_box
    old = control.forget_history(local_provider, address) - 1
    answer = requests.get(_api(local_provider, "history"), params={"startHistoryId": old}, headers=auth, timeout=10)
    assert answer.status_code == 404 and answer.json()["error"]["status"] == "NOT_FOUND"


def test_a_forced_watch_answer_is_given_until_cleared(local_provider, google_box, receiver):
    address, auth = google_box
    topic = _topic(local_provider, receiver[0])
    control.force_answer(local_provider, address, "watch", "topic_permission_denied_403")
    refused = requests.post(_api(local_provider, "watch"), json={"topicName": topic}, headers=auth, timeout=10)
    assert refused.status_code == 403 and "User not authorized" in refused.text
    control.force_answer(local_provider, address, "watch", None)
    accepted = requests.post(_api(local_provider, "watch"), json={"topicName": topic}, headers=auth, timeout=10)
    assert accepted.status_code == 200


def test_an_unknown_watch_answer_name_is_refused(local_provider, google_box):
    address, _auth = google_box
    with pytest.raises(control.LocalProviderError, match="no recorded watch answer"):
        control.force_answer(local_provider, address, "watch", "no_such_answer")


def test_the_push_data_is_gmails_notification(local_provider, google_box, receiver):
    address, auth = google_box
    endpoint, got = receiver
    topic = _topic(local_provider, endpoint)
    requests.post(_api(local_provider, "watch"), json={"topicName": topic}, headers=auth, timeout=10)
    control.append_messages(local_provider, address, [control.make_message(recipient=address)])
    data = json.loads(base64.b64decode(json.loads(got[0][1])["message"]["data"]))
    assert set(data) == {"emailAddress", "historyId"}
