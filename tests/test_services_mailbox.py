"""Opening a channel's mailbox against Local mail: a fresh login that succeeds is recorded on the channel
(the probe pass reads it), a refused one is not."""

import pytest
from django.utils import timezone

from channels_app.models import Channel
from channels_app.providers import AuthFailure
from channels_app.services.mailbox import channel_mailbox
from localprovider import control

pytestmark = pytest.mark.local_provider


def test_a_successful_login_is_recorded_as_the_last_login(imap_channel):
    channel = imap_channel()
    assert channel.last_login_at is None
    before = timezone.now()
    with channel_mailbox(channel) as client:
        client.noop()
    assert Channel.objects.get(pk=channel.pk).last_login_at >= before


def test_a_refused_login_leaves_the_last_login_as_it_was(imap_channel, local_provider):
    channel = imap_channel()
    control.set_password(local_provider, channel.address, "changed-at-the-server")
    with pytest.raises(AuthFailure), channel_mailbox(channel):
        pass
    assert Channel.objects.get(pk=channel.pk).last_login_at is None
