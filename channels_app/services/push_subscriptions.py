"""After a connect or a reconnect: the channel's push subscription (Gmail's watch, Graph's subscription),
made at once rather than at the next renewal pass."""

from django.db import transaction
from django_q.tasks import async_task

from channels_app.models import Channel
from channels_app.selectors.subscriptions import graph_push_wanted
from channels_app.services import graph_push
from channels_app.services.gmail_push import gmail_provider


def push_subscribe_soon(channel: Channel) -> None:
    """Queue the subscription of a channel whose provider pushes, once the transaction commits; the task
    (tasks.subscribe_channel) waits for the backfill a reconnect starts at the same moment."""
    graph = graph_push_wanted(channel)
    if graph:
        graph_push.consent_asked_again(channel)
    if graph or gmail_provider(channel) is not None:
        channel_id = channel.pk
        transaction.on_commit(
            lambda: async_task("channels_app.tasks.subscribe_channel", channel_id, task_name=f"push-{channel_id}")
        )
