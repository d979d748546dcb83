"""Every recorded answer, given by the real Local mail, through the real sync, connect and reauthorize paths.

Local mail's `google` and `microsoft` personas give each recorded answer on demand (a forced token
answer at its token endpoint, a forced authorize answer at its authorize endpoint, a forced IMAP answer
at its IMAP front); the channel is connected for real beforehand. The expectations are the recorded
suite's (tests/failure_expectations.py).
"""

import pytest
from django.urls import reverse

from channels_app.models import Channel, ChannelStatus
from channels_app.providers import Credentials
from channels_app.providers.recorded import recorded_entries
from channels_app.services.credentials import channel_store_credentials
from channels_app.tasks import sync_channel
from localprovider import control
from tests.failure_expectations import assert_authorize_meaning, assert_meaning
from tests.provider_fixtures import expire_access_token, oauth_round_trip

pytestmark = pytest.mark.local_provider

PERSONA = {"gmail": "google", "microsoft": "microsoft", "imap": "plain"}
TOKEN_CASES = [(kind, name) for kind in ("gmail", "microsoft") for name in recorded_entries(kind, "token")]
# One answer of each kind per provider for the reauthorize path: the in-process recorded suite already
# replays every answer through the callback; this checks the live round trip around it.
REAUTH_CASES = [
    (kind, next(name for name, entry in recorded_entries(kind, "token").items() if entry["expect"]["kind"] == want))
    for kind in ("gmail", "microsoft")
    for want in ("auth", "configuration", "passing")
] + [("microsoft", "aadsts53003_conditional_access")]
IMAP_CASES = [(kind, name) for kind in ("gmail", "microsoft", "imap") for name in recorded_entries(kind, "imap")]
AUTHORIZE_CASES = [(kind, name) for kind in ("gmail", "microsoft") for name in recorded_entries(kind, "authorize")]


@pytest.fixture
def connected(tenancy, make_mailbox, connect_local, local_provider, settings):
    """The shared channel connected for real to a fresh mailbox of the persona of `kind`."""

    def connect(kind: str) -> tuple[Channel, object]:
        mailbox = make_mailbox(persona=PERSONA[kind])
        channel = tenancy.shared_channel
        if kind == "imap":
            local = settings.MAIL_PROVIDERS["local"]
            channel.provider, channel.address = "imap", mailbox.address
            channel.imap_host, channel.imap_port, channel.imap_security = local["IMAP_HOST"], local["IMAP_PORT"], "none"
            channel.imap_username = mailbox.address
            channel.save()
            channel_store_credentials(channel=channel, credentials=Credentials(password=mailbox.password))
            return channel, mailbox
        return connect_local(channel, mailbox, kind), mailbox

    return connect


@pytest.mark.parametrize(("kind", "name"), TOKEN_CASES)
def test_each_token_answer_from_local_mail_sets_the_channel_and_alerts_the_right_people(
    kind, name, connected, local_provider, people, django_capture_on_commit_callbacks
):
    channel, mailbox = connected(kind)
    # The access token has run out, so the sync must refresh, and the token endpoint answers as recorded.
    expire_access_token(channel)
    control.force_answer(local_provider, mailbox.address, "token", name)
    with django_capture_on_commit_callbacks(execute=True):
        result = sync_channel(channel.pk)
    assert_meaning(channel, recorded_entries(kind, "token")[name]["expect"], people, result)
    control.clear_answers(local_provider, mailbox.address)


@pytest.mark.parametrize(("kind", "name"), IMAP_CASES)
def test_each_imap_answer_from_local_mail_sets_the_channel_and_alerts_the_right_people(
    kind, name, connected, local_provider, people, django_capture_on_commit_callbacks
):
    channel, mailbox = connected(kind)
    control.append_messages(local_provider, mailbox.address, [control.make_message(recipient=mailbox.address)])
    control.force_answer(local_provider, mailbox.address, "imap", name)
    with django_capture_on_commit_callbacks(execute=True):
        result = sync_channel(channel.pk)
    assert_meaning(channel, recorded_entries(kind, "imap")[name]["expect"], people, result)
    assert channel.messages.count() == 0, "nothing was imported past a refusal"
    control.clear_answers(local_provider, mailbox.address)


@pytest.mark.parametrize(("kind", "name"), REAUTH_CASES)
def test_a_token_answer_during_reauthorization_is_a_message_and_changes_nothing(
    kind, name, connected, local_provider, tenancy
):
    channel, mailbox = connected(kind)
    before = channel.credentials_ciphertext
    control.force_answer(local_provider, mailbox.address, "token", name)
    client = tenancy.client_for(tenancy.admin)
    response = oauth_round_trip(client, reverse("channel_reauthorize", args=[channel.pk]), mailbox)
    control.clear_answers(local_provider, mailbox.address)
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "Nothing was changed" in page
    channel.refresh_from_db()
    assert channel.credentials_ciphertext == before and channel.status == ChannelStatus.ACTIVE


@pytest.mark.parametrize(("kind", "name"), AUTHORIZE_CASES)
@pytest.mark.parametrize("purpose", ["connect", "reauthorize"])
def test_each_authorize_answer_from_local_mail_is_explained_and_changes_nothing(
    kind, name, purpose, connected, make_mailbox, local_provider, tenancy
):
    if purpose == "connect":
        mailbox = make_mailbox(persona=PERSONA[kind])
        start, data = reverse("company:add_channel"), {"provider": kind, "workspace": tenancy.workspace.pk}
    else:
        channel, mailbox = connected(kind)
        start, data = reverse("channel_reauthorize", args=[channel.pk]), None
    before = list(Channel.objects.order_by("pk").values_list("pk", "status", "credentials_ciphertext"))
    control.force_answer(local_provider, mailbox.address, "authorize", name)
    client = tenancy.client_for(tenancy.admin)
    try:
        response = oauth_round_trip(client, start, mailbox, data=data, consent=False)
    finally:
        control.clear_answers(local_provider, mailbox.address)
    assert response.status_code == 302
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert_authorize_meaning(page.content.decode(), recorded_entries(kind, "authorize")[name]["expect"])
    assert list(Channel.objects.order_by("pk").values_list("pk", "status", "credentials_ciphertext")) == before
