"""What never reaches a debug page, an error report or the log: secrets in settings, OAuth values in URLs.

Installed by settings: DEFAULT_EXCEPTION_REPORTER_FILTER and the `redact_urls` logging filter.
"""

import logging
import re
from typing import Any

from django.views.debug import SafeExceptionReporterFilter

# A password inside a URL (redis://:PASSWORD@host, postgres://user:PASSWORD@host), wherever it is kept.
_URL_PASSWORD = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^\s:/@]*:)[^\s@/]+@", re.IGNORECASE)
# Query parameters an OAuth redirect carries: the code, state, tokens and the provider's error text.
_URL_PARAMETER = re.compile(r"(?<![\w-])((?:\w+_)?(?:code|state|token)|error_description)=[^&\s\"']*", re.IGNORECASE)
REDACTED = "[redacted]"


def redact_url_password(text: str) -> str:
    return _URL_PASSWORD.sub(r"\1********@", text)


def redact_url_parameters(text: str) -> str:
    return _URL_PARAMETER.sub(rf"\1={REDACTED}", text)


class SecretsReporterFilter(SafeExceptionReporterFilter):
    """Django's filter, also hiding the database and Redis URLs, and any password written into a URL.

    Django hides names with KEY, SECRET, PASS, TOKEN … already: CREDENTIALS_KEYS, EMAIL_HOST_PASSWORD
    and every provider's CLIENT_SECRET in MAIL_PROVIDERS. The URLs are environment variables, shown
    under META by servers that pass the environment on, and copied into CACHES and Q_CLUSTER.
    """

    hidden_settings = re.compile(
        r"API|AUTH|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE|DATABASE_URL|REDIS", re.IGNORECASE
    )

    def cleanse_setting(self, key: int | str, value: Any) -> Any:
        cleansed = super().cleanse_setting(key, value)
        return redact_url_password(cleansed) if isinstance(cleansed, str) else cleansed


class RedactUrlParameters(logging.Filter):
    """Rewrites a record's message without OAuth codes, states, tokens or error descriptions.

    The development server logs every request line, query included, and Django logs 4xx answers: a
    callback URL's `code=` in the log could be exchanged by whoever reads it before we do.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_url_parameters(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True
