from channels_app.models import ChannelEvent, ChannelStatus
from channels_app.services.status import channel_set_status


def test_status_change_writes_one_event_with_cause(tenancy):
    channel = tenancy.shared_channel
    event = channel_set_status(channel=channel, status=ChannelStatus.NEEDS_REAUTH, reason="revoked", cause="sync task")
    assert event is not None
    assert (event.from_status, event.to_status, event.reason, event.caused_by) == (
        "active",
        "needs_reauth",
        "revoked",
        "sync task",
    )
    channel.refresh_from_db()
    assert channel.status == ChannelStatus.NEEDS_REAUTH and channel.status_reason == "revoked"


def test_repeating_the_same_status_writes_no_event(tenancy):
    channel = tenancy.shared_channel
    channel_set_status(channel=channel, status=ChannelStatus.NEEDS_REAUTH, reason="revoked")
    channel_set_status(channel=channel, status=ChannelStatus.NEEDS_REAUTH, reason="revoked")
    assert ChannelEvent.objects.filter(channel=channel).count() == 1


def test_person_is_recorded_as_actor(tenancy):
    event = channel_set_status(channel=tenancy.member_channel, status=ChannelStatus.DISCONNECTED, actor=tenancy.member)
    assert event is not None and event.caused_by == str(tenancy.member)
