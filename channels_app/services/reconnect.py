"""What happens once a channel works again, whoever or whatever fixed it.

Called after the transaction that made the channel active has committed, so
what it starts sees the new credentials.
"""

from collections.abc import Iterable
from datetime import datetime

from django_q.tasks import async_task

from channels_app.models import Channel
from channels_app.services.backfill import backfill_start
from channels_app.services.push_subscriptions import push_subscribe_soon


def channel_reconnected(
    *,
    channel_id: int,
    actor_id: int | None,
    notify_user_ids: Iterable[int] = (),
    incident_started_at: datetime | None = None,
) -> None:
    # Mail that arrived during the outage is imported at once, not at the next scheduled pass.
    backfill_start(
        channel_id=channel_id,
        actor_id=actor_id,
        notify_user_ids=notify_user_ids,
        incident_started_at=incident_started_at,
    )
    async_task("channels_app.tasks.backfill_channel", channel_id, task_name=f"backfill-{channel_id}")
    # Its push subscription (Gmail's watch, Graph's subscription) may have lapsed, or died with the old
    # grant, while the channel was out: make it again.
    push_subscribe_soon(Channel.objects.get(pk=channel_id))
