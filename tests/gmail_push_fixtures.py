"""Fixtures for Gmail push against Local mail: push on, a push subscription to the test's live server."""

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from channels_app.models import Channel
from channels_app.views.gmail_push import push_audience
from localprovider import control


@dataclass(frozen=True)
class PushSetup:
    topic: str
    endpoint: str


@pytest.fixture
def gmail_push_on(settings, local_provider, live_server) -> Iterator[PushSetup]:
    """Gmail push configured with a topic of its own, whose push subscription posts to this test's server."""
    topic = f"projects/local-mail/topics/gmail-{uuid.uuid4().hex[:8]}"
    gmail = {**settings.MAIL_PROVIDERS["gmail"], "PUBSUB_TOPIC": topic}
    settings.MAIL_PROVIDERS = {**settings.MAIL_PROVIDERS, "gmail": gmail}
    endpoint = f"{live_server.url}/push/gmail/"
    control.create_push_subscription(local_provider, topic, endpoint, audience=push_audience())
    yield PushSetup(topic, endpoint)
    control.delete_push_subscriptions(local_provider, topic)


@pytest.fixture
def gmail_channel(tenancy, make_mailbox, connect_local) -> Callable[[], tuple[Channel, str]]:
    """The shared channel connected for real to a fresh google-persona mailbox; returns it and the address."""

    def connect() -> tuple[Channel, str]:
        mailbox = make_mailbox(persona="google")
        return connect_local(tenancy.shared_channel, mailbox, "gmail"), mailbox.address

    return connect


def wait_for(check: Callable[[], bool], *, seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()
