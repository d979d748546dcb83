"""Pages of the local provider: sign-in, consent, userinfo and a health check for `control.start`."""

from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from django import forms
from django.conf import settings
from django.contrib.auth import authenticate, login, logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View
from django.views.decorators.http import require_GET
from oauth2_provider.exceptions import OAuthToolkitError
from oauth2_provider.models import get_application_model
from oauth2_provider.oauth2_backends import get_oauthlib_core
from oauth2_provider.views import AuthorizationView

from localprovider import personas, scopes
from localprovider.personas import Persona
from localprovider.validator import mailbox_state


class SignInForm(forms.Form):
    email = forms.EmailField()
    password = forms.CharField(widget=forms.PasswordInput)


def _safe_next(request: HttpRequest) -> str:
    """The `next` URL if it stays on this server (no open redirect), else the root."""
    next_url = request.POST.get("next") or request.GET.get("next") or "/"
    if url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        return next_url
    return "/"


def _login_hint(next_url: str) -> str:
    """The authorize request's login_hint (Google pre-fills the account chooser with it)."""
    return parse_qs(urlsplit(next_url).query).get("login_hint", [""])[0]


class SignInView(View):
    """Email + password sign-in of a mailbox account; always shown, so any account can be chosen."""

    def get(self, request: HttpRequest) -> HttpResponse:
        next_url = _safe_next(request)
        form = SignInForm(initial={"email": request.GET.get("login_hint") or _login_hint(next_url)})
        return render(request, "localprovider/signin.html", {"form": form, "next": next_url})

    def post(self, request: HttpRequest) -> HttpResponse:
        next_url = _safe_next(request)
        form = SignInForm(request.POST)
        if form.is_valid():
            user = authenticate(request, username=form.cleaned_data["email"], password=form.cleaned_data["password"])
            if user is not None:
                login(request, user)
                return HttpResponseRedirect(next_url)
            form.add_error(None, "Wrong email or password.")
        return render(request, "localprovider/signin.html", {"form": form, "next": next_url}, status=400)


def sign_out(request: HttpRequest) -> HttpResponse:
    """ "Not you? Use another account": sign out, then back to the sign-in with the same next URL.

    A GET link is enough here: this is a loopback test double and signing out only costs a re-sign-in.
    """
    next_url = _safe_next(request)
    logout(request)
    return HttpResponseRedirect(f"{reverse('signin')}?{urlencode({'next': next_url})}")


class ConsentView(AuthorizationView):
    """DOT's authorization endpoint with our consent page, shown on every request like prompt=consent."""

    template_name = "localprovider/authorize.html"

    def get(self, request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        # approval_prompt=auto would let DOT skip the page for a returning user; we never want that,
        # so that a test or a demo always sees which account it grants.
        if "approval_prompt" in request.GET:
            request.GET = request.GET.copy()  # type: ignore[assignment]
            del request.GET["approval_prompt"]  # type: ignore[misc]
        state = mailbox_state(request.user.get_username())
        if (name := state.authorize_answer) is not None:
            return self._recorded_error(request, personas.recorded(state.persona, "authorize")[name])
        return super().get(request, *args, **kwargs)

    def _recorded_error(self, request: HttpRequest, entry: dict[str, Any]) -> HttpResponse:
        """The person signed in, and the provider refuses (policy, Conditional Access, admin consent
        required, ...): back to the client's redirect URI with the recorded error in the query, as
        Google does ("Handling the OAuth 2.0 server response",
        https://developers.google.com/identity/protocols/oauth2/web-server#handlingresponse) and Microsoft
        (the auth code flow's "Error response",
        https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-auth-code-flow#error-response),
        the request's `state` added (RFC 6749 section 4.1.2.1). The query is the entry's (recorded.json,
        whose `source` names where each was documented). Only after DOT has checked the client and its
        redirect URI: an unregistered one gets DOT's error page, never a redirect (section 4.1.2.1 again)."""
        try:
            _scopes, credentials = self.validate_authorization_request(request)
        except OAuthToolkitError as error:
            return self.error_response(error, application=None)
        query = dict(entry["query"])
        if credentials.get("state"):
            query["state"] = credentials["state"]
        redirect_uri = credentials["redirect_uri"]
        separator = "&" if "?" in redirect_uri else "?"
        application = get_application_model().objects.get(client_id=credentials["client_id"])
        return self.redirect(f"{redirect_uri}{separator}{urlencode(query)}", application)

    def get_context_data(self, **kwargs: object) -> dict[str, object]:
        context = super().get_context_data(**kwargs)
        switch_url = f"{reverse('signout')}?{urlencode({'next': self.request.get_full_path()})}"
        context.update(email=self.request.user.get_username(), switch_account_url=switch_url)
        requested = list(context.get("scopes") or [])  # absent on an error page
        optional = scopes.optional_scopes(self._persona(), requested)
        # Google's granular consent: each optional scope a checkbox, ticked by default.
        context["optional_scopes"] = [(scope, scopes.DESCRIPTIONS.get(scope, scope)) for scope in optional]
        context["scopes_descriptions"] = [
            scopes.DESCRIPTIONS.get(scope, scope) for scope in requested if scope not in optional
        ]
        return context

    def form_valid(self, form: forms.Form) -> HttpResponse:
        # The grant holds only the ticked optional scopes (an unticked checkbox sends nothing).
        requested = form.cleaned_data["scope"].split()
        ticked = self.request.POST.getlist("granted_scope")
        form.cleaned_data["scope"] = " ".join(scopes.granted_scopes(self._persona(), requested, ticked))
        return super().form_valid(form)

    def _persona(self) -> Persona:
        return mailbox_state(self.request.user.get_username()).persona


@require_GET
def userinfo(request: HttpRequest) -> JsonResponse:
    """The shape of Google's userinfo endpoint, so the main app can learn which mailbox it was granted."""
    valid, oauth_request = get_oauthlib_core().verify_request(request, scopes=[])
    if not valid:
        response = JsonResponse({"error": "invalid_token"}, status=401)
        response["WWW-Authenticate"] = 'Bearer error="invalid_token"'
        return response
    user = oauth_request.access_token.user
    return JsonResponse({"sub": str(user.pk), "email": user.get_username(), "email_verified": True})


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Lets `control.start` tell our server (and which instance) from anything else on the port, and
    `control` know it can take the admin endpoint (a server started before it existed cannot)."""
    # getattr: INSTANCE_DIR exists only in localprovider.settings, which the type checker does not load.
    return JsonResponse({"ok": True, "dir": str(getattr(settings, "INSTANCE_DIR")), "control": True})  # noqa: B009
