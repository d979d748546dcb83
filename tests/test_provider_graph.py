"""The Microsoft provider's Graph module: each recorded Graph answer read as its class, over HTTP."""

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from channels_app.providers import FailureKind, PassingFailure, ReasonCode
from channels_app.providers.microsoft import graph
from channels_app.providers.microsoft.errors import SubscriptionGone
from channels_app.providers.recorded import recorded_entries

GRAPH = recorded_entries("microsoft", "graph")
TOKEN = graph.GraphToken("graph-token", datetime.now(UTC) + timedelta(hours=1))
NOW = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)


class FakeGraph:
    """A Graph stand-in on an ephemeral port answering every request with one entry; it keeps requests."""

    def __init__(self) -> None:
        self.answer: dict = {}
        self.requests: list[tuple[str, str, dict, str]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1.0"

    def serve(self) -> Iterator["FakeGraph"]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                fake.requests.append((self.command, self.path, body, self.headers.get("Authorization", "")))
                entry = fake.answer
                self.send_response(entry["status"])
                for name, value in entry.get("headers", {}).items():
                    self.send_header(name, value)
                self.end_headers()
                if entry.get("body") is not None:
                    self.wfile.write(json.dumps(entry["body"]).encode())

            do_POST = do_PATCH = do_DELETE = _answer

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        thread.start()
        yield self
        self.server.shutdown()


@pytest.fixture
def fake_graph(settings) -> Iterator[FakeGraph]:
    fake = FakeGraph()
    for running in fake.serve():
        settings.MAIL_PROVIDERS = {
            **settings.MAIL_PROVIDERS,
            "microsoft": {**settings.MAIL_PROVIDERS["microsoft"], "GRAPH_URL": running.url},
        }
        yield running


def _create() -> graph.Subscription:
    return graph.create_subscription(
        TOKEN,
        notification_url="https://inbox.example.com/webhooks/graph/notifications/",
        lifecycle_url="https://inbox.example.com/webhooks/graph/lifecycle/",
        client_state="secret",
        resource=graph.INBOX_RESOURCE,
        now=NOW,
        lifetime=timedelta(minutes=4230),
    )


@pytest.mark.parametrize("name", sorted(GRAPH))
def test_each_recorded_graph_answer_reads_as_its_class(fake_graph, name):
    entry = GRAPH[name]
    fake_graph.answer = entry
    expect = entry["expect"]
    with pytest.raises(Exception) as raised:
        _create()
    failure = raised.value
    assert failure.kind == FailureKind(expect["kind"])
    assert failure.code == expect["code"]
    if "reason" in expect:
        assert failure.reason == ReasonCode(expect["reason"])
    assert "innerError" not in failure.provider_words and "request-id" not in failure.provider_words


def test_throttling_keeps_graphs_retry_after(fake_graph):
    fake_graph.answer = GRAPH["throttled_429"]
    with pytest.raises(PassingFailure) as raised:
        _create()
    assert raised.value.retry_after == 30 and raised.value.throttled


def test_a_renewal_of_a_forgotten_subscription_says_it_is_gone(fake_graph):
    fake_graph.answer = GRAPH["subscription_not_found"]
    with pytest.raises(SubscriptionGone):
        graph.renew_subscription(TOKEN, "abc", now=NOW, lifetime=timedelta(minutes=4230))


def test_create_sends_graphs_fields_with_the_graph_token(fake_graph):
    fake_graph.answer = {
        "status": 201,
        "body": {"id": "sub-1", "expirationDateTime": "2026-12-03T08:30:00.0000000Z", "resource": "r"},
    }
    made = _create()
    assert made == graph.Subscription("sub-1", datetime(2026, 12, 3, 8, 30, tzinfo=UTC), "r")
    method, path, body, auth = fake_graph.requests[0]
    assert (method, path, auth) == ("POST", "/v1.0/subscriptions", "Bearer graph-token")
    assert body == {
        "changeType": "created",
        "notificationUrl": "https://inbox.example.com/webhooks/graph/notifications/",
        "lifecycleNotificationUrl": "https://inbox.example.com/webhooks/graph/lifecycle/",
        "resource": "me/mailFolders('Inbox')/messages",
        "expirationDateTime": "2026-12-03T08:30:00.0000000Z",
        "clientState": "secret",
    }


def test_the_lifetime_never_passes_graphs_limit_for_mail(fake_graph):
    fake_graph.answer = {"status": 200, "body": {"id": "s", "expirationDateTime": "2026-12-07T09:00:00Z"}}
    graph.renew_subscription(TOKEN, "s", now=NOW, lifetime=timedelta(days=30))
    asked = datetime.fromisoformat(fake_graph.requests[0][2]["expirationDateTime"].replace(".0000000Z", "+00:00"))
    assert asked - NOW < graph.MAX_LIFETIME


@pytest.mark.parametrize("body", ["not json", {"expirationDateTime": "2026-12-03T08:30:00Z"}, {"id": "x"}])
def test_an_unreadable_success_is_unrecognised_not_a_crash(fake_graph, body):
    fake_graph.answer = {"status": 201, "body": body}
    with pytest.raises(PassingFailure) as raised:
        _create()
    assert raised.value.unrecognised


def test_graph_unreachable_is_passing(settings):
    settings.MAIL_PROVIDERS = {
        **settings.MAIL_PROVIDERS,
        "microsoft": {**settings.MAIL_PROVIDERS["microsoft"], "GRAPH_URL": "http://127.0.0.1:9/v1.0"},
    }
    with pytest.raises(PassingFailure) as raised:
        _create()
    assert raised.value.code == "network"


def test_the_imap_refresh_leaves_graph_out_and_graphs_asks_for_it_alone():
    from channels_app.providers import get_provider

    provider = get_provider("microsoft")
    assert graph.GRAPH_SCOPE in provider.scopes
    assert graph.GRAPH_SCOPE not in provider.refresh_scopes
    assert "https://outlook.office.com/IMAP.AccessAsUser.All" in provider.refresh_scopes
    assert graph.graph_scopes() == ["offline_access", graph.GRAPH_SCOPE]
