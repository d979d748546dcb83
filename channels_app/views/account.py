"""The person's own account pages beside allauth's."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from channels_app.http import AuthedRequest


@login_required
@require_GET
def email_address(request: AuthedRequest) -> HttpResponse:
    """In place of allauth's email management, which is off.

    The address is the sign-in and where alerts go. allauth lets a person whose address is not
    verified (everyone here: admins create the accounts, nobody verifies) add any address and make it
    primary at once, so anyone could sign in and be alerted as ceo@. Staff change addresses in admin.
    """
    return render(request, "account/email.html")
