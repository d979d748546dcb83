"""Settings for the test suite: the real settings, read with TESTING on.

The tests' local provider is its own instance (directory and ports), so `make
test` and a running `make run` demo never touch each other's mailboxes, and two
suites at once each take their own (config/test_ports.py).
"""

import os
from pathlib import Path

from config import test_ports

os.environ.setdefault("TESTING", "1")
test_ports.claim(Path(__file__).resolve().parent.parent / ".testbed")

from config.settings import *  # noqa: E402, F403 (after the ports: settings read them)

EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
IMAP_TIMEOUT_SECONDS = 5
# Generous: a loaded machine still signs in to the local provider well within it.
IMAP_LOGIN_DEADLINE_SECONDS = 15
OAUTH_HTTP_TIMEOUT_SECONDS = 5
# The database cache even where REDIS_URL is set (CI): a test's rate-limit counters roll back with its
# transaction, so one test's sign-ins never count against the next.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "django_cache"}}
# Tasks run inline: a test sees their effect without a worker.
Q_CLUSTER = {**Q_CLUSTER, "sync": True}  # noqa: F405
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # A file, not the in-memory shared cache: tests with several worker threads
    # need SQLite's real locking (busy timeout, WAL) as production has it.
    (BASE_DIR / ".testbed").mkdir(exist_ok=True)  # noqa: F405
    # Named after the provider port, so two suites run side by side with their own instances never share it.
    _name = f"test-db-{os.environ['LOCAL_PROVIDER_HTTP_PORT']}.sqlite3"
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / ".testbed" / _name)}  # noqa: F405
