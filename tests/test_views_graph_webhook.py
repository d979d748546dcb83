"""Our notification and lifecycle URLs, as Microsoft Graph calls them (views/graph_webhook.py)."""

import hashlib
import json
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from channels_app.models import GraphSubscription

SECRET = "s" * 80


@pytest.fixture
def queued(monkeypatch) -> list[tuple]:
    calls: list[tuple] = []
    monkeypatch.setattr("channels_app.services.graph_push.async_task", lambda *args, **kw: calls.append(args))
    return calls


@pytest.fixture
def subscription(tenancy) -> GraphSubscription:
    channel = tenancy.shared_channel
    channel.provider = "microsoft"
    channel.save(update_fields=["provider"])
    return GraphSubscription.objects.create(
        channel=channel,
        subscription_id="7f105c7d-2dc5-4530-97cd-4e7ae6534c07",
        client_state_digest=hashlib.sha256(SECRET.encode()).hexdigest(),
        expires_at=timezone.now() + timedelta(days=2),
    )


def _post(url_name: str, body: object, query: str = "") -> object:
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return Client().post(f"{reverse(url_name)}{query}", data=data, content_type="application/json")


def _item(sub: GraphSubscription, client_state: str = SECRET, **extra: object) -> dict:
    return {
        "subscriptionId": sub.subscription_id,
        "clientState": client_state,
        "changeType": "created",
        "resource": "Users/x/Messages/AAMk",
        "resourceData": {"id": "AAMk"},
        "tenantId": "t",
        **extra,
    }


@pytest.mark.parametrize("url_name", ["graph_notifications", "graph_lifecycle"])
def test_the_validation_handshake_echoes_the_token_as_plain_text(url_name, db):
    token = "Validation: Testing client application reachability for subscription Request-Id: 12 <b>"
    response = Client().post(
        f"{reverse(url_name)}?validationToken={token.replace(' ', '+')}", content_type="text/plain"
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert response.content.decode() == token


def test_a_notification_with_our_client_state_queues_a_sync(subscription, queued):
    response = _post("graph_notifications", {"value": [_item(subscription), _item(subscription)]})
    assert response.status_code == 202
    # Two new messages, one sync: it imports both.
    assert queued == [("channels_app.tasks.push_sync_channel", subscription.channel_id)]
    subscription.refresh_from_db()
    assert subscription.last_notification_at is not None


def test_a_notification_for_a_channel_whose_healthy_idle_a_listener_holds_is_handed_to_that_listener(
    subscription, queued
):
    from channels_app.models import Channel
    from channels_app.services.idle_lease import idle_claim, idle_started

    now = timezone.now()
    idle_claim(owner="listener-1", limit=10, now=now)
    idle_started(owner="listener-1", channel_id=subscription.channel_id, now=now)
    response = _post("graph_notifications", {"value": [_item(subscription)]})
    assert response.status_code == 202
    # It syncs over its connection: no worker sync, no login.
    assert queued == []
    assert Channel.objects.get(pk=subscription.channel_id).idle_sync_requests == 1


@pytest.mark.parametrize(
    "item",
    [
        {"clientState": "wrong"},
        {"clientState": SECRET[:-1]},
        {"clientState": None},
        {"subscriptionId": "00000000-0000-0000-0000-000000000000"},
        {"subscriptionId": ""},
    ],
)
def test_a_wrong_client_state_or_unknown_subscription_is_answered_alike_and_does_nothing(subscription, queued, item):
    response = _post("graph_notifications", {"value": [{**_item(subscription), **item}]})
    assert response.status_code == 202
    assert response.content == b""
    assert queued == []
    subscription.refresh_from_db()
    assert subscription.last_notification_at is None


@pytest.mark.parametrize("body", ["not json", "[]", '{"value": {}}', '{"nothing": []}'])
def test_a_body_that_is_no_notification_collection_is_refused_clearly(subscription, queued, body):
    response = _post("graph_notifications", body)
    assert response.status_code == 400
    assert "notification collection" in response.json()["error"]
    assert queued == []


def test_items_of_other_shapes_are_skipped_and_ours_still_count(subscription, queued):
    response = _post("graph_notifications", {"value": ["text", 3, None, _item(subscription)]})
    assert response.status_code == 202
    assert len(queued) == 1


@pytest.mark.parametrize("event", ["reauthorizationRequired", "subscriptionRemoved", "missed"])
def test_a_lifecycle_event_queues_its_handling(subscription, queued, event):
    item = _item(subscription, lifecycleEvent=event)
    del item["changeType"]
    response = _post("graph_lifecycle", {"value": [item]})
    assert response.status_code == 202
    assert queued == [("channels_app.tasks.graph_lifecycle_channel", subscription.channel_id, event)]


def test_an_unknown_lifecycle_event_or_a_forged_one_does_nothing(subscription, queued):
    unknown = _item(subscription, lifecycleEvent="somethingNew")
    forged = _item(subscription, client_state="guess", lifecycleEvent="subscriptionRemoved")
    assert _post("graph_lifecycle", {"value": [unknown, forged]}).status_code == 202
    assert queued == []


def test_get_is_not_served(db):
    assert Client().get(reverse("graph_notifications")).status_code == 405
