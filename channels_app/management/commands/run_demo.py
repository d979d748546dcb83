"""`make run`: the web server and the django-q2 worker together, until Ctrl-C stops both."""

import os
import signal
import subprocess
import sys
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from channels_app.demo import DEMO_PASSWORD, PEOPLE


class Command(BaseCommand):
    help = "Run the web server and the background worker for the demo; Ctrl-C stops everything it started."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--addr", default=os.environ.get("DEMO_ADDR", "127.0.0.1:8000"))

    def handle(self, *args: Any, addr: str, **options: Any) -> None:
        manage = [sys.executable, "manage.py"]
        processes = [
            subprocess.Popen([*manage, "runserver", addr, "--noreload"]),  # noqa: S603
            subprocess.Popen([*manage, "qcluster"]),  # noqa: S603
        ]
        self._print_welcome(addr)
        try:
            while all(p.poll() is None for p in processes):
                time.sleep(0.5)
            self.stderr.write("A demo process stopped on its own; stopping the rest.")
        except KeyboardInterrupt:
            self.stdout.write("\nStopping…")
        finally:
            for process in processes:
                if process.poll() is None:
                    process.send_signal(signal.SIGINT)
            for process in processes:
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()

    def _print_welcome(self, addr: str) -> None:
        lines = [
            "",
            f"  Shared Inbox is running at http://{addr}/",
            "",
            f"  Sign in with any of these (password: {DEMO_PASSWORD}):",
            *(f"    {p.email:<20} {p.role}" for p in PEOPLE),
            "",
            "  Ctrl-C stops the web server and the worker.",
            "",
        ]
        self.stdout.write("\n".join(lines))
