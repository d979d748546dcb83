"""Shared set-up for the benchmarks: a throwaway database and a local provider instance of their own."""

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


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
