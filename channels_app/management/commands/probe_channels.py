from django.db.models import QuerySet

from channels_app.management.commands._passes import ForegroundPass
from channels_app.models import Channel
from channels_app.selectors.due import channels_to_probe
from channels_app.tasks import probe_channel


class Command(ForegroundPass):
    help = "Probe every channel's credentials (or --channel ID) now, in the foreground, printing what happened."
    run_one = probe_channel

    def channels(self) -> QuerySet[Channel]:
        return channels_to_probe()
