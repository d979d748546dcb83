"""Company sign-in: the company admin's settings page, and the sign-in page that sends people of a
company's domains to its identity provider."""

import requests
from allauth.account.forms import LoginForm
from allauth.account.utils import get_next_redirect_url
from allauth.account.views import login as allauth_login
from allauth.core import ratelimit
from allauth.socialaccount.providers.base import AuthProcess
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from channels_app.auth_adapter import company_social_app
from channels_app.forms import CompanySignInForm
from channels_app.http import AuthedRequest
from channels_app.models import CompanySignIn
from channels_app.permissions import Space, access_company
from channels_app.selectors import company_sign_in_for_email, company_sign_in_of
from channels_app.services.company_sign_in import (
    check_discovery,
    company_sign_in_recheck,
    company_sign_in_save,
    company_sign_in_turn_off,
    company_sign_in_turn_on,
    discovery_url,
)

SWITCH_ACTIONS = ("on", "off", "check")


@require_http_methods(["GET", "POST"])
def sign_in(request: HttpRequest) -> HttpResponse:
    """allauth's sign-in page, except that an address of a domain with company sign-in and no password
    goes to the company's identity provider (the password form refuses those people: auth_adapter.py)."""
    if request.method == "POST" and not request.POST.get("password"):
        email = request.POST.get("login", "").strip()
        company_sign_in = company_sign_in_for_email(email)
        if company_sign_in is not None:
            # Each start fetches the provider's discovery document: counted with allauth's sign-in tries
            # per client address (ACCOUNT_RATE_LIMITS "login"), as the password form is.
            return ratelimit.consume_or_429(request, action="login") or _start_company_sign_in(
                request, company_sign_in, email
            )
    return allauth_login(request)


def _start_company_sign_in(request: HttpRequest, company_sign_in: CompanySignIn, email: str) -> HttpResponse:
    provider = company_social_app(company_sign_in).get_provider(request)
    try:
        # A POST with its CSRF token, so starting here needs none of allauth's confirmation page.
        return provider.redirect(
            request, AuthProcess.LOGIN, next_url=get_next_redirect_url(request), auth_params={"login_hint": email}
        )
    except (requests.RequestException, ValueError, KeyError):
        # allauth reads the provider's discovery document first: unreachable, or not one.
        problem = (
            f"{company_sign_in.company.name}'s identity provider cannot be reached right now, so we cannot send "
            "you there to sign in. Try again in a few minutes; if it lasts, tell your IT administrator."
        )
        form = LoginForm(request=request, initial={"login": email})
        return render(request, "account/login.html", {"form": form, "company_sign_in_problem": problem}, status=503)


def _page(request: AuthedRequest, form: CompanySignInForm, sign_in: CompanySignIn | None) -> HttpResponse:
    company = access_company(request.user)
    context = {
        "space": Space.of_company(company),
        "form": form,
        "sign_in": sign_in,
        "domains": list(sign_in.domains.values_list("domain", flat=True)) if sign_in else [],
        "discovery_url": discovery_url(sign_in.issuer_url) if sign_in else "",
        "redirect_uri": request.build_absolute_uri(
            reverse("openid_connect_callback", kwargs={"provider_id": CompanySignIn(company=company).provider_id})
        ),
        "settings_page": "sign-in",
    }
    return render(request, "channels_app/settings/company_sign_in.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def company_sign_in_settings(request: AuthedRequest) -> HttpResponse:
    company = access_company(request.user)
    sign_in = company_sign_in_of(company)
    has_secret = sign_in is not None and bool(sign_in.client_secret_ciphertext)
    if request.method == "POST":
        form = CompanySignInForm(request.POST, company=company, has_secret=has_secret)
        if form.is_valid():
            issuer_before = sign_in.issuer_url if sign_in else None
            saved = company_sign_in_save(company=company, **form.cleaned_data)
            messages.success(request, "Saved the identity provider's settings.")
            if saved.enabled and saved.issuer_url != issuer_before:
                check = company_sign_in_recheck(sign_in=saved)
                if not check.ok:
                    messages.error(request, f"Sign-in through the identity provider is now off: {check.problem}")
            return redirect("company_sign_in")
    else:
        initial = {}
        if sign_in is not None:
            domains = ", ".join(sign_in.domains.values_list("domain", flat=True))
            initial = {"domains": domains, "issuer_url": sign_in.issuer_url, "client_id": sign_in.client_id}
        form = CompanySignInForm(initial=initial, company=company, has_secret=has_secret)
    return _page(request, form, sign_in)


@login_required
@require_POST
def company_sign_in_switch(request: AuthedRequest, action: str) -> HttpResponse:
    """Turn on (after a discovery check), turn off, or only check the discovery document."""
    company = access_company(request.user)
    if action not in SWITCH_ACTIONS:
        raise Http404("No such page.")
    sign_in = company_sign_in_of(company)
    if sign_in is None:
        messages.error(request, "Save the identity provider's settings first.")
        return redirect("company_sign_in")
    if action == "off":
        company_sign_in_turn_off(sign_in=sign_in)
        messages.success(request, "Sign-in through the identity provider is off: everyone signs in with a password.")
        return redirect("company_sign_in")
    check = company_sign_in_turn_on(sign_in=sign_in) if action == "on" else check_discovery(sign_in.issuer_url)
    if not check.ok:
        messages.error(request, f"The identity provider's discovery check failed: {check.problem}")
    elif action == "on":
        messages.success(request, "Sign-in through the identity provider is on.")
    else:
        messages.success(request, "The identity provider's discovery document is in order.")
    return redirect("company_sign_in")
