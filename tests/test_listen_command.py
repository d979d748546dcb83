"""`manage.py listen` as production runs it: a process that holds IDLE, stores new mail, and on SIGTERM
ends its IDLE and releases its channels."""

import os
import resource
import signal
import subprocess
import sys
import time
from io import StringIO
from pathlib import Path

import pytest

from channels_app.management.commands.listen import Command
from channels_app.models import Channel, Message
from localprovider import control
from tests.provider_fixtures import shared_database_url

ROOT = Path(__file__).resolve().parent.parent

pytestmark = [pytest.mark.local_provider, pytest.mark.django_db(transaction=True)]


def _wait_for(check, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return False


def test_listen_stores_new_mail_and_releases_its_channels_on_sigterm(imap_channel, local_provider, tenancy):
    channel = imap_channel()
    Channel.objects.exclude(pk=channel.pk).delete()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.test_settings",
        "DATABASE_URL": shared_database_url(),
    }
    listener = subprocess.Popen(
        [sys.executable, "manage.py", "listen"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        idle = _wait_for(lambda: Channel.objects.filter(pk=channel.pk, idle_since__isnull=False).exists(), 30)
        assert idle, "the listener did not start IDLE on the channel"
        control.append_messages(local_provider, channel.address, [control.make_message(recipient=channel.address)])
        assert _wait_for(lambda: Message.objects.filter(channel=channel).exists(), 15)
        listener.send_signal(signal.SIGTERM)
        output, _ = listener.communicate(timeout=20)
    finally:
        if listener.poll() is None:
            listener.kill()
            listener.wait()
    assert listener.returncode == 0, output
    assert "stopped; its channels are released" in output
    released = Channel.objects.get(pk=channel.pk)
    assert (released.idle_owner, released.idle_until, released.idle_since) == ("", None, None)


def test_the_open_files_limit_is_raised_to_hold_every_channel_and_a_lower_hard_limit_is_reported(monkeypatch):
    set_to: list[tuple[int, int]] = []
    monkeypatch.setattr(resource, "getrlimit", lambda _which: (1024, 1500))
    monkeypatch.setattr(resource, "setrlimit", lambda _which, limits: set_to.append(limits))
    command = Command(stderr=StringIO())
    command._allow_descriptors(1200)
    assert set_to == [(1200, 1500)]
    command._allow_descriptors(2100)
    assert set_to[-1] == (1500, 1500)
    assert "Open files are limited to 1500" in command.stderr.getvalue()
