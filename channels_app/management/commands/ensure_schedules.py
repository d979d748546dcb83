"""Create or update the background schedules; safe to run on every deploy and every `make run`."""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django_q.models import Schedule

SCHEDULES = {
    # name: (function, minutes)
    "sync pass": ("channels_app.tasks.sync_pass", lambda: settings.SYNC_INTERVAL_MINUTES),
    "probe pass": ("channels_app.tasks.probe_pass", lambda: settings.PROBE_INTERVAL_MINUTES),
    "keep-alive pass": ("channels_app.tasks.keep_alive_pass", lambda: 60),
    "renewal pass": ("channels_app.tasks.renewal_pass", lambda: 60),
    # Alert emails the mail server did not take at once (services/emails.py).
    "email retry pass": ("channels_app.tasks.email_retry_pass", lambda: 1),
}


class Command(BaseCommand):
    help = "Create the sync, probe, keep-alive, renewal and email retry schedules, or update their intervals."

    def handle(self, *args: Any, **options: Any) -> None:
        for name, (func, minutes) in SCHEDULES.items():
            schedule, created = Schedule.objects.update_or_create(
                name=name,
                defaults={"func": func, "schedule_type": Schedule.MINUTES, "minutes": minutes(), "repeats": -1},
            )
            verb = "Created" if created else "Updated"
            self.stdout.write(f"{verb} schedule '{name}': {func} every {schedule.minutes} minute(s).")
