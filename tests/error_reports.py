"""What Django's error report (its e-mail to admins, its 500 page with DEBUG) would show of a crash."""

import imaplib
from typing import Any

from django.test import Client
from django.views.debug import ExceptionReporter, SafeExceptionReporterFilter


def crash_on_login(monkeypatch: Any) -> None:
    """Our code stops with a bug the moment it sends LOGIN, deep inside imaplib: every frame is in the report."""
    send = imaplib.IMAP4.send

    def crashing_send(self: imaplib.IMAP4, data: bytes) -> None:
        if b" LOGIN " in data:
            raise RuntimeError("a bug")
        send(self, data)

    monkeypatch.setattr(imaplib.IMAP4, "send", crashing_send)


def crash_report(client: Client, url: str, data: dict[str, Any]) -> str:
    """The HTML report of the crash the POST causes, with every frame's variables and the request."""
    client.raise_request_exception = False
    response = client.post(url, data)
    assert response.status_code == 500
    reporter = ExceptionReporter(response.wsgi_request, *response.exc_info)
    assert isinstance(reporter.filter, SafeExceptionReporterFilter)
    return reporter.get_traceback_html()
