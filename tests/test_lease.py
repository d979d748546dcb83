"""One worker per channel at a time, and a dead worker's channel free again within the lease."""

from datetime import timedelta

import pytest
from django.utils import timezone

from channels_app.models import Channel
from channels_app.services.lease import LeaseLost, channel_lease, extend_lease, renew_or_stop


def test_a_second_claim_waits_for_the_first(tenancy):
    channel = tenancy.shared_channel
    with channel_lease(channel.pk) as first, channel_lease(channel.pk) as second:
        assert first and second is None
    assert Channel.objects.get(pk=channel.pk).lease_owner == ""


def test_an_expired_lease_is_taken_over_and_its_old_owner_stops(tenancy, settings):
    channel = tenancy.shared_channel
    assert settings.CHANNEL_LEASE_SECONDS <= 60
    Channel.objects.filter(pk=channel.pk).update(lease_owner="dead", lease_until=timezone.now() - timedelta(seconds=1))
    with channel_lease(channel.pk) as owner:
        assert owner
        assert not extend_lease(channel.pk, "dead")
        channel.lease_owner = "dead"
        with pytest.raises(LeaseLost):
            renew_or_stop(channel)
        channel.lease_owner = owner
        renew_or_stop(channel)
