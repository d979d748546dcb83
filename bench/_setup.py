"""Shared set-up for the benchmarks: a throwaway database, a local provider instance of their own, the
app's own processes (`manage.py runserver`, `qcluster`, `listen`) and channels on that instance.

Call `django_for_bench` first: the helpers below import Django's models when called.
"""

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

ROOT = Path(__file__).resolve().parent.parent

if TYPE_CHECKING:
    from channels_app.models import Channel, Workspace
    from localprovider.control import Instance


def django_for_bench(name: str, http_port: int, imap_port: int) -> None:
    """Configure Django on a fresh SQLite file (or DATABASE_URL if set) and a provider instance on its own ports."""
    sys.path.insert(0, str(ROOT))
    workdir = Path(tempfile.mkdtemp(prefix=f"bench-{name}-"))
    # TESTING, not DEBUG: DEBUG keeps every query (with its parameters) in memory, which would
    # measure Django's debug log rather than our memory use.
    os.environ.setdefault("TESTING", "1")
    os.environ.setdefault("DEBUG", "0")
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{workdir / 'bench.sqlite3'}")
    os.environ["LOCAL_PROVIDER_DIR"] = str(ROOT / ".testbed" / f"bench-{name}")
    os.environ["LOCAL_PROVIDER_HTTP_PORT"] = str(http_port)
    os.environ["LOCAL_PROVIDER_IMAP_PORT"] = str(imap_port)
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def manage(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """One of the app's own processes (`runserver`, `qcluster`, `listen`) on the bench's database and
    settings (`env` added to them), in a process group of its own so that `stop` ends its children too."""
    return subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), *args],
        env={**os.environ, **(env or {})},
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def stop(*processes: subprocess.Popen[bytes]) -> None:
    """SIGTERM each process group, then SIGKILL what is left after 10 s (qcluster waits for its workers'
    next broker poll)."""
    for process in processes:
        os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def bench_workspace() -> "Workspace":
    from channels_app.models import Company, Workspace

    company = Company.objects.create(name=f"Bench {time.time_ns()}")
    return Workspace.objects.create(company=company, name="Support")


def _inbox_channel(workspace: "Workspace", **fields: object) -> "Channel":
    from channels_app.models import Channel, Inbox, InboxKind

    address = str(fields["address"])
    inbox = Inbox.objects.create(company=workspace.company, name=address, kind=InboxKind.SHARED, workspace=workspace)
    return Channel.objects.create(inbox=inbox, **fields)


def oauth_channel(instance: "Instance", workspace: "Workspace", provider: str, name: str) -> "Channel":
    """A Gmail or Microsoft channel on a new mailbox of that persona, with real tokens from Local mail's consent."""
    from channels_app.demo import local_consent
    from channels_app.services.credentials import channel_store_credentials
    from localprovider import control
    from localprovider.personas import Persona

    address = f"{name}-{time.time_ns()}@acme.test"
    persona: Persona = "google" if provider == "gmail" else "microsoft"
    control.create_mailbox(instance, address, "pw", persona=persona)
    channel = _inbox_channel(workspace, provider=provider, address=address)
    channel_store_credentials(channel=channel, credentials=local_consent(address, "pw", provider))
    return channel


def imap_channel(workspace: "Workspace", *, address: str, password: str, port: int) -> "Channel":
    """A plain IMAP channel (password login, no TLS) on 127.0.0.1:`port`."""
    from channels_app.providers import Credentials
    from channels_app.services.credentials import channel_store_credentials

    channel = _inbox_channel(
        workspace,
        provider="imap",
        address=address,
        imap_host="127.0.0.1",
        imap_port=port,
        imap_security="none",
        imap_username=address,
    )
    channel_store_credentials(channel=channel, credentials=Credentials(password=password))
    return channel
