"""The recorded-response contract suite: every documented answer of every provider, replayed in-process.

For each entry of `channels_app/providers/<kind>/recorded.json` (the public source of each is named
there) a fake on loopback answers exactly as recorded, and the test checks what the answer means all
the way up: the failure's kind and code, the channel's resulting status, who is alerted and what they
are told. Runs everywhere: no root, no Dovecot.
"""

from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from django.urls import reverse
from django.utils import timezone

from channels_app.models import Channel
from channels_app.providers import Credentials, get_provider
from channels_app.providers.base import AuthFailure, PassingFailure, PolicyFailure, ProviderFailure
from channels_app.providers.recorded import recorded_entries
from channels_app.services.credentials import channel_store_credentials
from channels_app.tasks import probe_channel, sync_channel
from localprovider.imap_front import ImapFront
from localprovider.personas import MailboxState
from tests.failure_expectations import assert_authorize_meaning, assert_meaning
from tests.provider_fakes import FakeTokenEndpoint

OAUTH_KINDS = ("gmail", "microsoft")
TOKEN_CASES = [(kind, name) for kind in OAUTH_KINDS for name in recorded_entries(kind, "token")]
AUTHORIZE_CASES = [(kind, name) for kind in OAUTH_KINDS for name in recorded_entries(kind, "authorize")]


def _oauth_channel(channel: Channel, kind: str) -> Channel:
    """A channel whose access token has expired, so the next request refreshes it."""
    channel.provider = kind
    channel.save(update_fields=["provider"])
    stale = Credentials(
        access_token="expired-access",
        refresh_token="refresh-1",
        expires_at=timezone.now() - timedelta(minutes=1),
        granted_at=timezone.now() - timedelta(days=1),
    )
    channel_store_credentials(channel=channel, credentials=stale)
    return channel


@pytest.mark.parametrize(("kind", "name"), TOKEN_CASES)
def test_each_recorded_token_answer_is_classified(kind, name, fake: FakeTokenEndpoint):
    entry = recorded_entries(kind, "token")[name]
    fake.answer = entry
    provider = get_provider(kind)
    with pytest.raises(ProviderFailure) as raised:
        provider.refresh(Credentials(refresh_token="refresh-1", granted_at=timezone.now()))
    failure = raised.value
    expect = entry["expect"]
    assert failure.kind == expect["kind"], (name, failure.message)
    assert failure.code == expect["code"]
    if "reason" in expect:
        assert isinstance(failure, AuthFailure) and failure.reason == expect["reason"]
    if expect["kind"] == "passing":
        assert isinstance(failure, PassingFailure)
        assert failure.retry_after == expect.get("retry_after")
        assert failure.unrecognised == expect.get("unrecognised", False)
    if expect["kind"] == "policy":
        assert isinstance(failure, PolicyFailure) and failure.admin_action and failure.provider_words
    assert "Trace ID" not in failure.provider_words and "refresh-1" not in str(vars(failure))


@pytest.mark.parametrize(("kind", "name"), TOKEN_CASES)
def test_each_recorded_token_answer_sets_the_channel_and_alerts_the_right_people(
    kind, name, fake: FakeTokenEndpoint, tenancy, people, django_capture_on_commit_callbacks
):
    entry = recorded_entries(kind, "token")[name]
    fake.answer = entry
    channel = _oauth_channel(tenancy.shared_channel, kind)
    with django_capture_on_commit_callbacks(execute=True):
        result = probe_channel(channel.pk)
    assert_meaning(channel, entry["expect"], people, result)


def _start_connect(client, kind: str, workspace) -> str:
    """Start Add channel for `kind` and return the state the provider would send back."""
    response = client.post(reverse("company:add_channel"), {"provider": kind, "workspace": workspace.pk})
    assert response.status_code == 302, response
    return parse_qs(urlparse(response["Location"]).query)["state"][0]


@pytest.mark.parametrize(("kind", "name"), TOKEN_CASES)
def test_a_recorded_token_answer_during_connect_is_a_clear_message_never_a_500(
    kind, name, fake: FakeTokenEndpoint, tenancy
):
    fake.answer = recorded_entries(kind, "token")[name]
    client = tenancy.client_for(tenancy.admin)
    state = _start_connect(client, kind, tenancy.workspace)
    response = client.get(reverse("oauth_callback"), {"code": "code-1", "state": state}, follow=True)
    assert response.status_code == 200
    text = response.content.decode()
    assert "Nothing was changed" in text
    assert Channel.objects.count() == 2, "no channel was created"


@pytest.mark.parametrize(("kind", "name"), AUTHORIZE_CASES)
def test_each_recorded_authorize_error_is_explained_and_changes_nothing(kind, name, fake, tenancy):
    entry = recorded_entries(kind, "authorize")[name]
    client = tenancy.client_for(tenancy.admin)
    state = _start_connect(client, kind, tenancy.workspace)
    response = client.get(reverse("oauth_callback"), {**entry["query"], "state": state}, follow=True)
    assert response.status_code == 200
    assert_authorize_meaning(response.content.decode(), entry["expect"])
    assert not fake.posts, "no code was exchanged"


PERSONA_OF = {"gmail": "google", "microsoft": "microsoft", "imap": "plain"}
IMAP_CASES = [(kind, name) for kind in ("gmail", "microsoft", "imap") for name in recorded_entries(kind, "imap")]


@pytest.fixture
def imap_front(settings):
    """The in-process IMAP front with its in-memory mailbox (no Dovecot): answers as `state` says."""
    state: dict[str, Any] = {"answer": None, "persona": "plain", "refuse": False}
    front = ImapFront(
        upstream=None,
        state_for=lambda _address: MailboxState(persona=state["persona"], imap_answer=state["answer"]),
        refuses=lambda _user, _secret: state["refuse"],
    )
    with front.running() as port:
        settings.IMAP_ALLOWED_PORTS = [*settings.IMAP_ALLOWED_PORTS, port]  # for the password kind
        yield port, state


def _imap_channel(channel: Channel, kind: str, port: int, settings) -> Channel:
    """A channel of `kind` whose mailbox is behind the front, with credentials that look valid."""
    channel.provider = kind
    if kind == "imap":
        channel.imap_host, channel.imap_port, channel.imap_security = "127.0.0.1", port, "none"
        channel.imap_username = channel.address
        credentials = Credentials(password="pw")
    else:
        settings.MAIL_PROVIDERS = {
            **settings.MAIL_PROVIDERS,
            kind: {**settings.MAIL_PROVIDERS[kind], "IMAP_HOST": "127.0.0.1", "IMAP_PORT": port, "IMAP_SSL": False},
        }
        credentials = Credentials(
            access_token="access-1", refresh_token="refresh-1", expires_at=timezone.now() + timedelta(hours=1)
        )
    channel.save()
    channel_store_credentials(channel=channel, credentials=credentials)
    return channel


@pytest.mark.parametrize(("kind", "name"), IMAP_CASES)
def test_each_recorded_imap_answer_sets_the_channel_and_alerts_the_right_people(
    kind, name, imap_front, tenancy, people, settings, fake, django_capture_on_commit_callbacks
):
    port, state = imap_front
    entry = recorded_entries(kind, "imap")[name]
    state["persona"] = PERSONA_OF[kind]
    if entry.get("refusal"):
        state["refuse"] = True  # the server itself refuses; the persona words the refusal
    else:
        state["answer"] = name
    if kind != "imap":
        # The refused login is retried once with a refreshed token before it counts; the refresh works.
        fake.answer = {"status": 200, "body": {"access_token": "access-2", "token_type": "Bearer", "expires_in": 3600}}
    channel = _imap_channel(tenancy.shared_channel, kind, port, settings)
    with django_capture_on_commit_callbacks(execute=True):
        result = sync_channel(channel.pk)
    assert_meaning(channel, entry["expect"], people, result)


def test_a_mailbox_behind_the_front_syncs_when_nothing_is_forced(imap_front, tenancy, settings):
    port, _state = imap_front
    channel = _imap_channel(tenancy.shared_channel, "microsoft", port, settings)
    assert "ok" in sync_channel(channel.pk)
    assert channel.messages.count() == 1
