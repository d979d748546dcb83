"""What happens once a channel works again, whoever or whatever fixed it.

Called after the transaction that made the channel active has committed, so
what it starts sees the new credentials.
"""

from django_q.tasks import async_task


def channel_reconnected(*, channel_id: int, actor_id: int | None) -> None:
    # Mail that arrived during the outage is imported at once, not at the next scheduled pass.
    async_task("channels_app.tasks.sync_channel", channel_id, task_name=f"sync-after-reconnect-{channel_id}")
