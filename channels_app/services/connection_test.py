"""Test connection: a person asks, from a channel's Settings tab, whether our access works right now.

It is the probe the scheduler runs (operations.probe through health.run_check), so its outcome is recorded
as any probe's: a refused login moves the channel to needs_reauth and alerts as usual, a success ends an
incident. Each try signs in at the provider, and providers lock out accounts that sign in too often, so
tries are counted per person and per channel (services/throttle.py).
"""

from dataclasses import dataclass

from channels_app.models import Channel, User
from channels_app.providers import get_provider
from channels_app.services import operations
from channels_app.services.health import CheckOutcome, run_check, staff_requested
from channels_app.services.throttle import Throttled, throttle_hit_each

# Tries per person and per channel in one window: enough to test, fix something, and test again.
TESTS_PER_WINDOW = 5
WINDOW_SECONDS = 600


@dataclass(frozen=True)
class ConnectionAnswer:
    outcome: CheckOutcome
    words: str

    @property
    def works(self) -> bool:
        return self.outcome == CheckOutcome.OK


def connection_test_throttle(*, person_id: int, channel_id: int, now: float | None = None) -> Throttled | None:
    keys = [("connection-test", "person", person_id), ("connection-test", "channel", channel_id)]
    return throttle_hit_each(keys, TESTS_PER_WINDOW, WINDOW_SECONDS, now=now)


def connection_test(*, channel: Channel, person: User) -> ConnectionAnswer:
    """Probe `channel` now, whatever backoff the scheduler keeps, and say what the answer means."""
    result = run_check(channel.pk, operations.probe, cause=f"Test connection by {person}", respect_backoff=False)
    label = get_provider(channel.provider).label
    words = {
        CheckOutcome.OK: f"The connection works: we signed in to {channel.address} at {label} just now.",
        CheckOutcome.AUTH_FAILURE: f"{label} refused our access: {result.detail} Reauthorize the channel to fix it.",
        CheckOutcome.POLICY_FAILURE: f"{label} blocks our access: {result.detail}",
        CheckOutcome.CONFIGURATION_FAILURE: f"This app's {label} settings need fixing by staff: {result.detail}",
        CheckOutcome.PASSING_FAILURE: f"{label} could not be reached: {result.detail} We keep trying by ourselves.",
        CheckOutcome.CRASHED: "The test stopped on an internal error; our staff were told.",
        CheckOutcome.BUSY: "A sync is running on this channel right now: test again in a moment.",
        CheckOutcome.SKIPPED: f"Not tested: {result.detail}.",
    }[result.outcome]
    if result.outcome == CheckOutcome.OK and staff_requested(channel):
        words += " Our support team still asks for it to be reauthorized: Reauthorize it."
    return ConnectionAnswer(outcome=result.outcome, words=words)
