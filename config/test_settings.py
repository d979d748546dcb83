"""Settings for the test suite: the real settings, read with TESTING on."""

import os

os.environ.setdefault("TESTING", "1")

from config.settings import *  # noqa: E402,F403

EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
