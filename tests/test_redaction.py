"""Secrets never reach the debug page or error reports; OAuth callback values never reach the log."""

import logging
import sys

import pytest
from django.test import RequestFactory
from django.views.debug import ExceptionReporter

REDIS_URL = "redis://:redis-password-1@cache.internal:6379/0"
DATABASE_URL = "postgres://inbox:db-password-2@db.internal:5432/inbox"


@pytest.fixture
def debug_page(settings):
    """The technical 500 page of an error in a request, as DEBUG shows it."""
    settings.DEBUG = True
    settings.REDIS_URL = REDIS_URL
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "redis": REDIS_URL}
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
    settings.EMAIL_HOST_PASSWORD = "smtp-password-3"
    settings.CREDENTIALS_KEYS = ["credentials-key-4"]
    settings.MAIL_PROVIDERS = {
        "gmail": {"CLIENT_ID": "gmail-id", "CLIENT_SECRET": "gmail-secret-5"},
        "microsoft": {"CLIENT_ID": "ms-id", "CLIENT_SECRET": "ms-secret-6"},
    }
    # Servers that pass their environment on (runserver, many WSGI servers) put it in META.
    environ = {"DATABASE_URL": DATABASE_URL, "REDIS_URL": REDIS_URL, "GMAIL_CLIENT_SECRET": "gmail-secret-5"}
    return _error_page(RequestFactory().get("/settings/", **environ))


@pytest.mark.parametrize(
    "secret",
    ["redis-password-1", "db-password-2", "smtp-password-3", "credentials-key-4", "gmail-secret-5", "ms-secret-6"],
)
def test_the_debug_page_hides_every_secret_setting_and_url_password(debug_page, secret):
    assert "boom" in debug_page and "CACHES" in debug_page  # the page and its settings are there
    assert secret not in debug_page


def test_the_debug_page_still_shows_what_is_not_secret(debug_page):
    assert "redis://:********@cache.internal:6379/0" in debug_page  # CACHES' LOCATION
    assert "gmail-id" in debug_page


CALLBACK = "/oauth/callback/?state=st-secret&code=code-secret&scope=imap"


def _logged(logger_name: str, message: str, *args: object) -> str:
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger(logger_name)
    logger.addHandler(handler)
    try:
        logger.warning(message, *args)
    finally:
        logger.removeHandler(handler)
    [record] = records
    return record.getMessage()


def test_the_request_log_redacts_oauth_codes_states_and_tokens():
    line = _logged("django.server", '"%s" %s %s', f"GET {CALLBACK} HTTP/1.1", "400", "120")
    assert line == '"GET /oauth/callback/?state=[redacted]&code=[redacted]&scope=imap HTTP/1.1" 400 120'


def test_django_request_warnings_redact_them_too():
    message = _logged(
        "django.request",
        "Bad Request: %s",
        "/oauth/callback/?error=access_denied&error_description=AADSTS65001%3A+user+x&access_token=t1&id_token=t2",
    )
    assert message == (
        "Bad Request: /oauth/callback/?error=access_denied&error_description=[redacted]"
        "&access_token=[redacted]&id_token=[redacted]"
    )


def test_other_parameters_are_left_alone():
    assert _logged("django.server", "GET /settings/?page=2&postcode=1 HTTP/1.1") == (
        "GET /settings/?page=2&postcode=1 HTTP/1.1"
    )


def _error_page(request) -> str:
    # Last in the file: the page quotes this frame's variables and the source lines around it.
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        return ExceptionReporter(request, *sys.exc_info()).get_traceback_html()
