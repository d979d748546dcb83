"""Shared body of `sync_channels` and `probe_channels`: one pass in the foreground, a line per channel."""

from collections.abc import Callable
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import QuerySet

from channels_app.models import Channel
from channels_app.tasks import check_each


class ForegroundPass(BaseCommand):
    run_one: Callable[..., str]

    def channels(self) -> QuerySet[Channel]:
        raise NotImplementedError

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--channel", type=int, help="only this channel id")

    def handle(self, *args: Any, channel: int | None = None, **options: Any) -> None:
        if channel is not None:
            if not Channel.objects.filter(pk=channel).exists():
                raise CommandError(f"There is no channel {channel}.")
            ids = [channel]
        else:
            ids = list(self.channels().order_by("pk").values_list("pk", flat=True))
        # Staff asked for this pass now: backoff does not postpone it.
        run_one = type(self).run_one
        for channel_id, line in check_each(lambda pk: run_one(pk, respect_backoff=False), ids):
            self.stdout.write(f"[{channel_id}] {line}")
        self.stdout.write(f"{len(ids)} channel(s) done.")
