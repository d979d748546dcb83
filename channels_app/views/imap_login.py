"""Signing in to an IMAP server with a password a person typed into a form, for connecting a channel and
reauthorizing one alike: the tries counted, and each way it can fail said on the form."""

from django import forms
from django.views.decorators.debug import sensitive_variables

from channels_app.forms import could_not_sign_in, too_many_tries
from channels_app.providers import AuthFailure, ImapEndpoint, ProviderFailure
from channels_app.services.connect import imap_verify_login
from channels_app.services.throttle import imap_login_throttle


@sensitive_variables("password")
def imap_login_check(
    form: forms.Form,
    *,
    imap: ImapEndpoint,
    password: str,
    tries_by: int | str,
    rejected: str,
    unreachable: str,
) -> int | None:
    """Sign in to `imap` with `password`, counted against the tries of `tries_by` (a person, or a
    reauthorization link). None when the server took the password; else the HTTP status to show the form
    again with, its error added: 429 while the tries are used up; 200 when the server refused the password
    (`rejected`, on the password field) or could not be reached (`unreachable`, after naming the server)."""
    throttled = imap_login_throttle(person_id=tries_by, address=f"{imap.username}@{imap.host}")
    if throttled is not None:
        form.add_error(None, too_many_tries(throttled))
        return 429
    try:
        imap_verify_login(imap=imap, password=password)
    except AuthFailure:
        form.add_error("password", rejected)
        return 200
    except ProviderFailure:
        form.add_error(None, f"{could_not_sign_in(imap.host, imap.port)} {unreachable}")
        return 200
    return None
