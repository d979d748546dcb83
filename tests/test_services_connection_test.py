"""Test connection probes the channel now and says the answer in words; its outcome is recorded as any probe's."""

from datetime import timedelta

import pytest
from django.utils import timezone

from channels_app.models import Channel, ChannelStatus
from channels_app.services.connection_test import TESTS_PER_WINDOW, connection_test, connection_test_throttle
from channels_app.services.health import CheckOutcome
from tests.network_fakes import closed_port
from tests.provider_fakes import MemoryImap


def test_a_working_connection_is_said_so_and_ends_an_incident(tenancy, memory_imap):
    channel = memory_imap.serve(tenancy.shared_channel)
    Channel.objects.filter(pk=channel.pk).update(
        status=ChannelStatus.UNREACHABLE, next_attempt_at=timezone.now() + timedelta(hours=1)
    )
    answer = connection_test(channel=channel, person=tenancy.admin)
    assert answer.works and answer.words == (
        "The connection works: we signed in to support@acme.test at IMAP just now."
    )
    channel.refresh_from_db()
    assert channel.status == ChannelStatus.ACTIVE and channel.last_checked_at is not None
    assert channel.events.first().cause == "Test connection by admin@acme.test"


def test_a_refused_login_is_said_in_words_and_recorded_as_a_probes(tenancy, memory_imap):
    channel = memory_imap.serve(tenancy.shared_channel)
    memory_imap.refuse = True
    answer = connection_test(channel=channel, person=tenancy.admin)
    assert answer.outcome == CheckOutcome.AUTH_FAILURE and not answer.works
    assert answer.words.startswith("IMAP refused our access: ")
    assert answer.words.endswith("Reauthorize the channel to fix it.")
    channel.refresh_from_db()
    assert channel.status == ChannelStatus.NEEDS_REAUTH
    assert channel.notifications.filter(recipient=tenancy.admin, kind="needs_reauth").exists()


def test_a_server_that_cannot_be_reached_is_a_passing_failure(tenancy, settings):
    port = closed_port()
    settings.IMAP_ALLOWED_PORTS = [*settings.IMAP_ALLOWED_PORTS, port]
    channel = MemoryImap(port=port).serve(tenancy.shared_channel)  # nothing listens there
    answer = connection_test(channel=channel, person=tenancy.admin)
    assert answer.outcome == CheckOutcome.PASSING_FAILURE
    assert answer.words.startswith("IMAP could not be reached: ") and answer.words.endswith("by ourselves.")
    channel.refresh_from_db()
    assert channel.status == ChannelStatus.ACTIVE and channel.consecutive_failures == 1 and channel.last_error


def test_a_disconnected_channel_is_not_tested(tenancy):
    Channel.objects.filter(pk=tenancy.shared_channel.pk).update(status=ChannelStatus.DISCONNECTED)
    answer = connection_test(channel=tenancy.shared_channel, person=tenancy.admin)
    assert (answer.outcome, answer.words) == (CheckOutcome.SKIPPED, "Not tested: disconnected.")


@pytest.mark.parametrize("whose", ["person", "channel"])
def test_tests_are_counted_per_person_and_per_channel(db, whose):
    for _ in range(TESTS_PER_WINDOW):
        assert connection_test_throttle(person_id=1, channel_id=1, now=1000.0) is None
    # Another channel for the same person, or another person for the same channel: both used up.
    other = {"person_id": 1, "channel_id": 2} if whose == "person" else {"person_id": 2, "channel_id": 1}
    assert connection_test_throttle(**other, now=1000.0) is not None
    assert connection_test_throttle(person_id=3, channel_id=3, now=1000.0) is None
