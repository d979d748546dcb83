"""`make run`: the web server, the django-q2 worker and the IDLE listener together, until Ctrl-C stops them."""

import os
import signal
import subprocess
import sys
import time
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django_q.tasks import async_task

from channels_app.demo import DEMO_PASSWORD, IVY, MAILBOX_PASSWORD, PEOPLE
from channels_app.demo_web import WAIT_SECONDS, WebServerWait, web_server_wait
from channels_app.selectors import subscriptions


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


class Command(BaseCommand):
    help = "Run the web server, the background worker and the IDLE listener for the demo; Ctrl-C stops them all."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--addr", default=os.environ.get("DEMO_ADDR", "127.0.0.1:8000"))

    def handle(self, *args: Any, addr: str, **options: Any) -> None:
        from localprovider import control

        instance: control.Instance | None = control.instance_from_env()
        try:
            control.start(instance)
        except control.LocalProviderUnavailable as unavailable:
            self.stderr.write(f"Local mail cannot run here ({unavailable.reason}); continuing without it.")
            instance = None
        call_command("seed_demo")
        call_command("ensure_schedules")
        if instance is not None:
            from channels_app.demo_push import demo_gmail_push

            self.stdout.write(demo_gmail_push(instance, addr))
        manage = [sys.executable, "manage.py"]
        # Ctrl-C and `kill` both end the demo cleanly, even when started from a
        # script that ignores SIGINT for background jobs (and while the web server is awaited).
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, _interrupt)
        processes = [subprocess.Popen([*manage, "runserver", addr, "--noreload"])]  # noqa: S603
        try:
            processes += self._start_workers(manage, addr, web=processes[0])
            self._print_welcome(addr, instance.base_url if instance else "(not running)")
            while all(p.poll() is None for p in processes):
                time.sleep(0.5)
            self.stderr.write("A demo process stopped on its own; stopping the rest.")
        except KeyboardInterrupt:
            self.stdout.write("\nStopping…")
        finally:
            if instance is not None:
                control.stop(instance)
            for process in processes:
                if process.poll() is None:
                    process.terminate()
            for process in processes:
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()

    def _start_workers(
        self, manage: list[str], addr: str, *, web: subprocess.Popen[bytes]
    ) -> list[subprocess.Popen[bytes]]:
        """The qcluster and the IDLE listener, once the web server answers. Graph validates our notification
        URL when a subscription is made, and the qcluster's first renewal pass makes the missing ones at once:
        made before runserver listens, they fail as a configuration problem and alert the admin for nothing."""
        waited = web_server_wait(f"http://{addr}/", running=lambda: web.poll() is None)
        env = os.environ.copy()
        if waited is not WebServerWait.ANSWERS:
            self.stderr.write(self._no_graph_push(addr, waited))
            env["GRAPH_NOTIFICATIONS"] = "0"
        workers = [
            subprocess.Popen([*manage, "qcluster"], env=env),  # noqa: S603
            # New mail within seconds over IMAP IDLE; the scheduled poll stays as a safety net.
            subprocess.Popen([*manage, "listen"], env=env),  # noqa: S603
        ]
        if waited is WebServerWait.ANSWERS:
            for channel_id in subscriptions.channels_without_subscription():
                async_task("channels_app.tasks.subscribe_channel", channel_id, task_name=f"graph-{channel_id}")
        return workers

    @staticmethod
    def _no_graph_push(addr: str, waited: WebServerWait) -> str:
        why = "stopped" if waited is WebServerWait.EXITED else f"did not answer within {WAIT_SECONDS:.0f} s"
        return (
            f"The web server at http://{addr}/ {why}: Microsoft channels are polled this run, without asking Graph"
            " for a subscription it could not validate (so no one is alerted about it)."
        )

    def _print_welcome(self, addr: str, provider_url: str) -> None:
        lines = [
            "",
            f"  Shared Inbox is running at http://{addr}/",
            "",
            f"  Sign in with any of these (password: {DEMO_PASSWORD}):",
            *(f"    {p.email:<20} {p.role}" for p in PEOPLE),
            "",
            f"  Local mail, the stand-in for Google and Microsoft, runs at {provider_url}: Sam's inbox is a Gmail",
            "  channel, Support a Microsoft 365 one, Sales Local mail's own; Billing (shared-billing@acme.test) is a",
            "  Microsoft 365 shared mailbox opened through its delegate dana@ (wes@ has Full Access too). The",
            f"  mailboxes support@, sales@, sam@, dana@ and wes@acme.test have the password {MAILBOX_PASSWORD}.",
            "",
            f"  Company sign-in: {IVY.email} ({IVY.role}) types only her email on the sign-in page and",
            f"  signs in at Local mail with {MAILBOX_PASSWORD}. Initech's settings: gear → Initech → Sign-in.",
            "",
            "  Try it: sign in as sam@acme.test; then, in another terminal, have the provider revoke Google-style",
            "  access to his inbox while new mail keeps arriving:",
            "    .venv/bin/python -m localprovider revoke sam@acme.test --then-deliver 12",
            "  Within a minute the next sync notices: a pop-up asks Sam to reauthorize (View settings → Reauthorize,",
            f"  sign in at Local mail as sam@acme.test with {MAILBOX_PASSWORD}); the 12 missed messages are then",
            "  imported, with a receipt on the channel's Overview tab and the mail in its Messages tab.",
            "  Real providers' answers, on demand (list them with `.venv/bin/python -m localprovider answers google`):",
            "    .venv/bin/python -m localprovider answer support@acme.test token aadsts53003_conditional_access",
            "    .venv/bin/python -m localprovider answer sam@acme.test imap too_many_connections",
            "    .venv/bin/python -m localprovider answer support@acme.test token clear",
            "",
            "  New mail arrives within seconds (the IDLE listener); try it with",
            "    .venv/bin/python -m localprovider append sales@acme.test",
            "",
            "  Ctrl-C stops the web server, the worker, the IDLE listener and Local mail.",
            "",
        ]
        self.stdout.write("\n".join(lines))
