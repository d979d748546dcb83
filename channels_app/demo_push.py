"""Gmail push in the demo: Local mail's push subscription to the demo's webhook, and the watches made at once.

On when GMAIL_PUBSUB_TOPIC is set (`make run` sets it): deliveries to the demo's Gmail mailboxes are then
pushed, signed by Local mail, to http://ADDR/push/gmail/ and imported within seconds.
"""

from typing import TYPE_CHECKING

from channels_app.models import Channel, ChannelStatus
from channels_app.providers import get_provider
from channels_app.tasks import renew_subscription_channel
from channels_app.views.gmail_push import push_audience

if TYPE_CHECKING:
    from localprovider.control import Instance


def demo_gmail_push(instance: "Instance", addr: str) -> str:
    """Set up push for the demo's Gmail channels; a line saying what was done."""
    from localprovider import control

    topic = str(get_provider("gmail").values.get("PUBSUB_TOPIC") or "")
    if not topic:
        return "Gmail push off (set GMAIL_PUBSUB_TOPIC to turn it on)."
    control.create_push_subscription(instance, topic, f"http://{addr}/push/gmail/", audience=push_audience())
    channels = Channel.objects.filter(provider="gmail", status=ChannelStatus.ACTIVE)
    results = [renew_subscription_channel(pk) for pk in channels.values_list("pk", flat=True)]
    watched = sum(": ok — " in line for line in results)
    return f"Gmail push on ({topic}): {watched} of {len(results)} Gmail channel(s) watched."
