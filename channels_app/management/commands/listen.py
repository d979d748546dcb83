"""`manage.py listen`: hold IMAP IDLE connections and sync over them when new mail arrives (services/idle.py).

Run it beside `manage.py qcluster`, on as many machines as you like: each listener claims at most
IDLE_CLAIM_BATCH unheld channels per round, up to IDLE_MAX_CHANNELS, and takes over the channels of a
listener that stopped renewing its lease. SIGTERM or Ctrl-C ends every IDLE (DONE, LOGOUT) and releases
the leases, so another listener takes the channels over at once.
"""

import resource
import signal
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from channels_app.services.idle import IdleListener


class Command(BaseCommand):
    help = "Hold an IMAP IDLE connection per channel and sync over it as soon as the server announces new mail."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--max-channels", type=int, help="at most this many channels (IDLE_MAX_CHANNELS)")
        parser.add_argument("--workers", type=int, help="threads that sign in and sync (IDLE_WORKERS)")

    def handle(self, *args: Any, max_channels: int | None = None, workers: int | None = None, **options: Any) -> None:
        self._allow_descriptors((max_channels or settings.IDLE_MAX_CHANNELS) + 100)
        listener = IdleListener(max_channels=max_channels, workers=workers)
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: listener.stop())
        self.stdout.write(f"IDLE listener {listener.name} started; SIGTERM or Ctrl-C stops it.")
        listener.run()
        self.stdout.write(f"IDLE listener {listener.name} stopped; its channels are released.")

    def _allow_descriptors(self, needed: int) -> None:
        """One socket per channel held: raise the soft limit on open files (1,024 on many systems) as far
        as the hard limit allows, and say so when that is not enough."""
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft != resource.RLIM_INFINITY and soft < needed:
            raised = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
            resource.setrlimit(resource.RLIMIT_NOFILE, (raised, hard))
            if raised < needed:
                self.stderr.write(
                    f"Open files are limited to {raised}: fewer than {needed} channels can be held (ulimit -Hn)."
                )
