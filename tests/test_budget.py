"""The daily download budget: counted per channel and day (UTC), never blocking a message larger than it."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from channels_app.models import Channel
from channels_app.selectors.backfill import budget_remaining
from channels_app.services.budget import budget_take, next_reset


@pytest.fixture
def limited(tenancy, settings):
    settings.MAIL_PROVIDERS = {
        **settings.MAIL_PROVIDERS,
        "gmail": {**settings.MAIL_PROVIDERS["gmail"], "DAILY_DOWNLOAD_BYTES": 1000},
    }
    return tenancy.shared_channel


def test_takes_until_the_day_is_used_up(limited):
    assert budget_remaining(limited) == 1000
    assert budget_take(limited, 600) and not budget_take(limited, 600) and budget_take(limited, 400)
    assert budget_remaining(limited) == 0


def test_a_new_day_starts_afresh(limited):
    assert budget_take(limited, 1000)
    Channel.objects.filter(pk=limited.pk).update(download_day=timezone.now().date() - timedelta(days=1))
    assert budget_remaining(limited) == 1000 and budget_take(limited, 1000)


def test_a_message_larger_than_the_whole_budget_goes_through_on_a_fresh_day(limited):
    assert budget_take(limited, 5000)
    assert not budget_take(limited, 1)


def test_no_limit_means_no_counting(tenancy):
    channel = tenancy.member_channel  # Gmail's default budget applies to Gmail only; make it IMAP
    channel.provider = "imap"
    channel.save(update_fields=["provider"])
    assert budget_remaining(channel) is None and budget_take(channel, 10**12)


def test_the_budget_resets_at_midnight_utc():
    assert next_reset(datetime(2026, 11, 30, 23, 59, tzinfo=UTC)) == datetime(2026, 12, 1, tzinfo=UTC)
