"""Microsoft 365 shared mailboxes opened through a delegate: connecting, reauthorizing by another delegate,
refusing anyone without access, and the alert when the delegate's access ends.

Against the real local provider, whose `microsoft` persona opens a shared mailbox for its delegates.
"""

from collections.abc import Callable
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.test import Client

from channels_app.models import Channel, ChannelStatus, Inbox, Notification, NotificationKind
from channels_app.providers import get_provider
from channels_app.services import connect as connect_services
from channels_app.services import grants
from channels_app.services.connect import NotADelegate, oauth_connect_finish
from channels_app.services.credentials import channel_credentials
from channels_app.services.mailbox import channel_mailbox
from channels_app.services.oauth_state import PendingAuthorization, Purpose, new_code_verifier
from channels_app.services.reauth_links import link_send
from channels_app.services.reauthorize import oauth_reauthorize_finish
from channels_app.tasks import sync_channel
from localprovider import browser, control
from tests.provider_fixtures import Mailbox

pytestmark = pytest.mark.local_provider


def _pending(purpose: Purpose, user_id: int, **fields: object) -> PendingAuthorization:
    return PendingAuthorization(
        purpose=purpose,
        provider="microsoft",
        user_id=user_id,
        code_verifier=new_code_verifier(),
        redirect_uri="http://testserver/oauth/callback/",
        **fields,  # type: ignore[arg-type]
    )


def _code(pending: PendingAuthorization, mailbox: Mailbox) -> str:
    """Sign in and consent at the provider as `mailbox`, as the person's browser would: the code it returns."""
    url = get_provider("microsoft").authorization_url(
        redirect_uri=pending.redirect_uri, state="s", code_verifier=pending.code_verifier, login_hint=""
    )
    return browser.callback_query(browser.authorize_as(url, mailbox.address, mailbox.password))["code"]


def _messages_in_inbox(channel: Channel) -> int:
    channel.refresh_from_db()
    with channel_mailbox(channel) as client:
        return int(client.select_folder("INBOX", readonly=True)[b"EXISTS"])


@pytest.fixture
def people(make_mailbox: Callable[..., Mailbox], local_provider: control.Instance) -> dict[str, Mailbox]:
    """A shared mailbox holding one message, two delegates with Full Access, and someone without it."""
    shared = make_mailbox("shared-billing", persona="microsoft")
    control.append_messages(local_provider, shared.address, [control.make_message(recipient=shared.address)])
    boxes = {"shared": shared}
    for name in ("dana", "wes", "jo"):
        boxes[name] = make_mailbox(name, persona="microsoft")
    for delegate in ("dana", "wes"):
        control.set_delegate(local_provider, shared.address, boxes[delegate].address)
    return boxes


@pytest.fixture
def discarded(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The accounts whose grants were given back."""
    given_back: list[str] = []
    real = grants.grant_discard

    def spy(**kwargs):
        given_back.append(kwargs["address"])
        return real(**kwargs)

    monkeypatch.setattr(grants, "grant_discard", spy)
    return given_back


def _connect(tenancy, people: dict[str, Mailbox], who: str) -> Channel:
    pending = _pending(Purpose.CONNECT, tenancy.admin.pk, shared_address=people["shared"].address.upper())
    code = _code(pending, people[who])
    return oauth_connect_finish(pending=pending, code=code, actor=tenancy.admin, workspace=tenancy.workspace)


def test_a_delegate_connects_the_shared_mailbox_and_both_are_recorded(tenancy, people):
    channel = _connect(tenancy, people, "dana")
    assert (channel.provider, channel.address) == ("microsoft", people["shared"].address)
    assert channel.delegate_address == people["dana"].address
    assert _messages_in_inbox(channel) == 1  # the shared mailbox's message, opened with Dana's token
    event = channel.events.get()
    assert f"Opened through delegate {people['dana'].address}" in event.reason


def test_someone_without_access_is_refused_and_nothing_is_saved(tenancy, people, discarded):
    inboxes = Inbox.objects.count()
    with pytest.raises(NotADelegate) as refused:
        _connect(tenancy, people, "jo")
    text = str(refused.value)
    assert people["jo"].address in text and people["shared"].address in text and "Nothing was changed" in text
    assert not Channel.objects.filter(address=people["shared"].address).exists()
    assert Inbox.objects.count() == inboxes
    assert discarded == [people["jo"].address]  # the grant went back


def _reauthorize(tenancy, channel: Channel, mailbox: Mailbox) -> None:
    pending = _pending(Purpose.REAUTHORIZE, tenancy.admin.pk, channel_id=channel.pk)
    oauth_reauthorize_finish(channel=channel, pending=pending, code=_code(pending, mailbox), actor=tenancy.admin)


def _sync(channel: Channel) -> str:
    Channel.objects.filter(pk=channel.pk).update(next_attempt_at=None)
    return sync_channel(channel.pk)


def test_when_the_delegates_access_ends_the_alert_names_the_delegate_and_another_takes_over(
    tenancy, people, local_provider
):
    channel = _connect(tenancy, people, "dana")
    control.set_delegate(local_provider, people["shared"].address, people["dana"].address, allowed=False)
    assert "auth_failure" in _sync(channel)
    channel.refresh_from_db()
    assert channel.status == ChannelStatus.NEEDS_REAUTH
    for text in (channel.status_reason, Notification.objects.get(kind=NotificationKind.NEEDS_REAUTH).message):
        assert f"opened through delegate {people['dana'].address}" in text
        assert "Any other delegate with Full Access to it can take over by reauthorizing" in text

    with pytest.raises(NotADelegate):  # Dana herself can no longer open it
        _reauthorize(tenancy, channel, people["dana"])
    _reauthorize(tenancy, channel, people["wes"])
    channel.refresh_from_db()
    assert (channel.status, channel.delegate_address) == (ChannelStatus.ACTIVE, people["wes"].address)
    assert _messages_in_inbox(channel) == 1
    assert f"Opened through delegate {people['wes'].address}" in channel.events.first().reason


def test_a_password_change_of_the_delegate_needs_reauthorization_too(tenancy, people, local_provider):
    channel = _connect(tenancy, people, "dana")
    control.revoke_tokens(local_provider, people["dana"].address)
    control.expire_tokens(local_provider, people["dana"].address)
    assert "auth_failure" in _sync(channel)
    channel.refresh_from_db()
    assert channel.status == ChannelStatus.NEEDS_REAUTH and people["dana"].address in channel.status_reason


def test_reauthorizing_as_someone_without_access_is_refused_and_changes_nothing(tenancy, people, discarded):
    channel = _connect(tenancy, people, "dana")
    before = Channel.objects.get(pk=channel.pk).credentials_ciphertext
    with pytest.raises(NotADelegate) as refused:
        _reauthorize(tenancy, channel, people["jo"])
    text = str(refused.value)
    assert people["jo"].address in text and people["shared"].address in text and people["dana"].address in text
    channel.refresh_from_db()
    assert (channel.credentials_ciphertext, channel.delegate_address) == (before, people["dana"].address)
    assert discarded == [people["jo"].address]
    assert _messages_in_inbox(channel) == 1  # the old credentials still work


def test_a_channel_of_its_own_address_still_refuses_a_delegate(tenancy, people, connect_local, local_provider):
    # Only shared mailboxes connected through a delegate take a delegate's sign-in.
    control.set_delegate(local_provider, people["dana"].address, people["wes"].address)
    channel = connect_local(tenancy.shared_channel, people["dana"], kind="microsoft")
    before = channel_credentials(channel).refresh_token
    with pytest.raises(connect_services.WrongAccount) as refused:
        _reauthorize(tenancy, channel, people["wes"])
    assert not isinstance(refused.value, NotADelegate)
    assert channel_credentials(Channel.objects.get(pk=channel.pk)).refresh_token == before


def test_a_reauthorization_link_for_a_shared_mailbox_asks_for_any_delegate(tenancy, people, local_provider):
    channel = _connect(tenancy, people, "dana")
    control.set_delegate(local_provider, people["shared"].address, people["dana"].address, allowed=False)
    sent = link_send(channel=channel, sender=tenancy.admin, sent_to="it@acme.test")
    assert f"a delegate with Full Access to {channel.address}" in mail.outbox[-1].body
    holder = Client()
    landing = holder.get(urlsplit(sent.url).path)
    assert f"as a delegate of {channel.address}" in landing.content.decode()
    start = holder.post(urlsplit(sent.url).path)
    assert f"login_hint={people['dana'].address.replace('@', '%40')}" in start["Location"]
    wes = people["wes"]
    callback = browser.authorize_as(start["Location"], wes.address, wes.password)
    done = holder.get("/oauth/callback/", browser.callback_query(callback))
    assert "Reconnected" in done.content.decode()
    channel.refresh_from_db()
    assert channel.delegate_address == wes.address
    assert _messages_in_inbox(channel) == 1
