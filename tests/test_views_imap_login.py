from uuid import uuid4

import pytest

from channels_app.forms import ImapPasswordForm
from channels_app.providers import AuthFailure, ImapEndpoint, ImapSecurity, ProviderFailure
from channels_app.views import imap_login
from channels_app.views.imap_login import imap_login_check

pytestmark = pytest.mark.django_db


def _endpoint() -> ImapEndpoint:
    # Each test its own account and person, so the tries counted in the shared cache are theirs alone.
    return ImapEndpoint("imap.acme.test", 993, ImapSecurity.TLS, f"user-{uuid4().hex}")


def _check(monkeypatch, answer: Exception | None, *, imap: ImapEndpoint | None = None, tries_by: str = ""):
    def login(*, imap: ImapEndpoint, password: str) -> None:
        if answer is not None:
            raise answer

    monkeypatch.setattr(imap_login, "imap_verify_login", login)
    form = ImapPasswordForm({"password": "pw"})
    assert form.is_valid()
    status = imap_login_check(
        form,
        imap=imap or _endpoint(),
        password="pw",
        tries_by=tries_by or f"person-{uuid4().hex}",
        rejected="Rejected.",
        unreachable="Try again.",
    )
    return status, form


def test_a_password_the_server_takes_adds_no_error(monkeypatch):
    status, form = _check(monkeypatch, None)
    assert status is None and not form.errors


def test_a_refused_password_is_said_on_the_password_field(monkeypatch):
    status, form = _check(monkeypatch, AuthFailure("LOGIN failed"))
    assert status == 200 and form.errors["password"] == ["Rejected."]


def test_a_server_out_of_reach_is_named_with_what_to_do(monkeypatch):
    status, form = _check(monkeypatch, ProviderFailure("timed out"))
    assert status == 200
    (error,) = form.non_field_errors()
    assert "imap.acme.test" in error and error.endswith(" Try again.")


def test_tries_beyond_the_limit_are_refused_before_any_sign_in(monkeypatch, settings):
    settings.IMAP_LOGIN_ATTEMPTS = 1
    imap, person = _endpoint(), f"person-{uuid4().hex}"
    assert _check(monkeypatch, AuthFailure("LOGIN failed"), imap=imap, tries_by=person)[0] == 200
    # A second try would be taken by the server: it is not even asked.
    status, form = _check(monkeypatch, AssertionError("signed in"), imap=imap, tries_by=person)
    assert status == 429 and form.non_field_errors() and "password" not in form.errors
