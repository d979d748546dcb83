"""Token grants for organisation-wide access, worded as Google and Microsoft answer them.

Microsoft: the client-credentials grant of an app registration at its tenant's token endpoint (`entra_token`,
below); its token carries the role IMAP.AccessAsApp while the tenant administrator consents, and the IMAP front
lets it open the mailboxes Exchange gave the app FullAccess to (imap_front/delegation.py).

Google: the JWT bearer grant (RFC 7523) of a service account with domain-wide delegation, at the same token
endpoint as the google persona's codes and refreshes (token_views.TokenView hands it over):
https://developers.google.com/identity/protocols/oauth2/service-account#authorizingrequests
The token it gives is an ordinary access token of the impersonated mailbox, so it opens that mailbox over
IMAP (XOAUTH2) exactly as a token from the consent page does.

Issued access tokens are not taken back when the administrator withdraws the delegation or deletes the key:
Google's access tokens keep working until they expire ("deletion does not revoke access tokens that have
already been issued. They continue to grant access":
https://cloud.google.com/iam/docs/reference/rest/v1/projects.locations.oauthClients/delete); only new token
requests are refused. `control.expire_client_tokens` lets a test skip to that hour's end.
"""

import base64
import logging
import secrets
import time
import urllib.parse
import uuid
from datetime import timedelta
from typing import Any

import jwt
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.http import HttpRequest, JsonResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from oauth2_provider.models import AccessToken, Application

from localprovider import organisation, personas

token_log = logging.getLogger("localprovider.tokens")  # token_views.py's, in the instance's http.log

JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
# Both providers answer 3599 for a fresh hour-long token.
ACCESS_SECONDS = 3599
# "Token must be a short-lived token (60 minutes)": exp - iat at most an hour; some slack for clocks.
ASSERTION_MAX_SECONDS = 3600
CLOCK_SKEW_SECONDS = 300
# Google's own token endpoint: Google's client libraries put it in `aud` whatever the key's token_uri says
# (googleapis/google-auth-library-python#804, googleapis/google-api-dotnet-client#3027), so it is accepted too.
GOOGLE_TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"


def _instance_dir() -> Any:
    # getattr: INSTANCE_DIR exists only in localprovider.settings, which the type checker does not load.
    return getattr(settings, "INSTANCE_DIR")  # noqa: B009


def google_token_url() -> str:
    """The token endpoint a service account key names (`token_uri`), which its assertions must name in `aud`."""
    base_url: str = getattr(settings, "BASE_URL")  # noqa: B009
    return base_url + reverse("token")


def _google_error(status: int, error: str, description: str) -> JsonResponse:
    return JsonResponse({"error": error, "error_description": description}, status=status)


# Google's answers, as its token endpoint words them (bodies as recorded in the issues named).
# A signature that does not verify, or a key that was deleted: crossplane-contrib/provider-jet-gcp#56,
# googleapis/google-cloud-python#10004.
_BAD_SIGNATURE = (400, "invalid_grant", "Invalid JWT Signature.")
# https://developers.google.com/identity/protocols/oauth2/service-account#error-codes; fastlane/fastlane#14972,
# a-marenkov/gsheets#96.
_BAD_TIMES = (
    400,
    "invalid_grant",
    "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. "
    "Check your iat and exp values in the JWT claim.",
)
# A `sub` that is no user of the domain: SCRT-HQ/PSGSuite#267, DoliCloud/DoliMods#30.
_NO_SUCH_USER = (400, "invalid_grant", "Invalid email or User ID")
# No delegation for this client in the user's domain, or not for every scope asked: googleapis/
# google-api-php-client#2214, googleapis/google-auth-library-ruby#210 (401).
_NOT_DELEGATED = (
    401,
    "unauthorized_client",
    "Client is unauthorized to retrieve access tokens using this method, "
    "or client not authorized for any of the scopes requested.",
)
# An `iss` that names no service account: appsup-dart/firebase_admin#14.
_NO_SUCH_ACCOUNT = (400, "invalid_grant", "Invalid grant: account not found")
# https://developers.google.com/identity/protocols/oauth2/service-account#error-codes (invalid_scope).
_NO_SCOPE = (400, "invalid_scope", "Empty or missing scope not allowed.")


def google_assertion(request: HttpRequest) -> JsonResponse:
    """POST grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=<JWT> at the google token URL."""
    assertion = request.POST.get("assertion", "")
    try:
        header = jwt.get_unverified_header(assertion)
        claims = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.InvalidTokenError:
        return _google_error(*_BAD_SIGNATURE)
    state = organisation.read(_instance_dir())
    account = state.service_accounts.get(str(claims.get("iss", "")))
    if account is None:
        return _google_error(*_NO_SUCH_ACCOUNT)
    # The key `kid` names (Google's libraries always send it); without one, any of the account's keys.
    kid = header.get("kid")
    if kid is None:
        candidates = list(account.keys.values())
    else:
        candidates = [account.keys[kid]] if isinstance(kid, str) and kid in account.keys else []
    if not any(_signed_by(assertion, public_key) for public_key in candidates):
        return _google_error(*_BAD_SIGNATURE)
    if claims.get("aud") not in (google_token_url(), GOOGLE_TOKEN_AUDIENCE):
        return _google_error(
            400, "invalid_grant", f"Invalid JWT: Failed audience check. The right audience is {google_token_url()}"
        )
    if not _short_lived(claims, time.time()):
        return _google_error(*_BAD_TIMES)
    requested = str(claims.get("scope", "")).split()
    if not requested:
        return _google_error(*_NO_SCOPE)
    subject = claims.get("sub")
    user = None
    if subject is not None:
        user = _workspace_user(str(subject))
        if user is None:
            return _google_error(*_NO_SUCH_USER)
        delegated = state.delegated_scopes(organisation.domain_of(str(subject)), account.client_id)
        if delegated is None or any(scope not in delegated for scope in requested):
            return _google_error(*_NOT_DELEGATED)
    # Without `sub` the token is the service account's own: Gmail has no mailbox for it, so IMAP refuses it.
    token = issue_access_token(client_id=account.client_id, name=account.client_email, user=user, scope=requested)
    return JsonResponse({"access_token": token, "expires_in": ACCESS_SECONDS, "token_type": "Bearer"})


def assertion_subject(form: Any) -> str | None:
    """The mailbox a jwt-bearer request's assertion names (unverified: for the token log only)."""
    if form.get("grant_type") != JWT_BEARER_GRANT:
        return None
    try:
        subject = jwt.decode(form.get("assertion", ""), options={"verify_signature": False}).get("sub")
    except jwt.InvalidTokenError:
        return None
    return subject if isinstance(subject, str) else None


def _signed_by(assertion: str, public_key: str) -> bool:
    try:
        jwt.decode(assertion, public_key, algorithms=["RS256"], options={"verify_aud": False, "verify_exp": False})
    except (jwt.InvalidSignatureError, jwt.InvalidAlgorithmError, jwt.DecodeError):
        return False
    except jwt.InvalidTokenError:
        return True  # signed by this key; its claims are judged next, in Google's words
    return True


def _short_lived(claims: dict[str, Any], now: float) -> bool:
    iat, exp = claims.get("iat"), claims.get("exp")
    if not isinstance(iat, int | float) or not isinstance(exp, int | float):
        return False
    return 0 < exp - iat <= ASSERTION_MAX_SECONDS and iat <= now + CLOCK_SKEW_SECONDS and exp > now


def _workspace_user(address: str) -> AbstractBaseUser | None:
    """The mailbox `sub` names, if it is a user of a Google Workspace domain here (a google-persona mailbox)."""
    address = address.strip().lower()
    user = get_user_model().objects.filter(username=address).first()
    if user is None or personas.read_state(_instance_dir(), address).persona != "google":
        return None
    return user


def issue_access_token(*, client_id: str, name: str, user: AbstractBaseUser | None, scope: list[str]) -> str:
    """A live access token for `user` (None: the client's own), issued to `client_id` (a service account or an
    app registration, made a DOT application on first use so that its tokens are listed and expired together)."""
    application, _ = Application.objects.get_or_create(
        client_id=client_id,
        defaults={
            "name": name,
            "client_type": Application.CLIENT_CONFIDENTIAL,
            "authorization_grant_type": Application.GRANT_CLIENT_CREDENTIALS,
            # DOT's own grants never serve this client: nobody knows this secret. Ours check the keys and
            # secrets in organisation.json instead.
            "client_secret": secrets.token_urlsafe(32),
            "redirect_uris": "",
        },
    )
    token = secrets.token_urlsafe(40)
    AccessToken.objects.create(
        user=user,
        application=application,
        token=token,
        scope=" ".join(scope),
        expires=timezone.now() + timedelta(seconds=ACCESS_SECONDS),
    )
    return token


# --- Microsoft: the client-credentials grant at the tenant's token endpoint --------------------------------
# https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-client-creds-grant-flow, for IMAP:
# https://learn.microsoft.com/en-us/exchange/client-developer/legacy-protocols/how-to-authenticate-an-imap-pop-smtp-application-by-using-oauth
# (section "Use client credentials grant flow to authenticate SMTP, IMAP and POP connections").
# Exchange Online's resource, by either of its identifiers; Graph is in every tenant too (its token opens no
# mailbox over IMAP: another audience). Any other resource is unknown to the tenant.
_EXCHANGE_RESOURCES = ("https://outlook.office365.com", "https://outlook.office.com")
_KNOWN_RESOURCES = (*_EXCHANGE_RESOURCES, "https://graph.microsoft.com")


def _entra_error(status: int, error: str, code: int, message: str) -> JsonResponse:
    """An error in Entra's shape: the AADSTS code and message, then trace and correlation ids and the time, in
    the description and again as fields (as in the microsoft provider's recorded.json, e.g.
    `aadsts7000215_invalid_client_secret`, and OfficeDev/microsoft-365-agents-toolkit#8621)."""
    stamp = timezone.now().strftime("%Y-%m-%d %H:%M:%SZ")
    trace_id, correlation_id = str(uuid.uuid4()), str(uuid.uuid4())
    description = (
        f"AADSTS{code}: {message}\r\nTrace ID: {trace_id}\r\nCorrelation ID: {correlation_id}\r\nTimestamp: {stamp}"
    )
    body = {
        "error": error,
        "error_description": description,
        "error_codes": [code],
        "timestamp": stamp,
        "trace_id": trace_id,
        "correlation_id": correlation_id,
        "error_uri": f"https://login.microsoftonline.com/error?code={code}",
    }
    return JsonResponse(body, status=status)


def _client_credentials(request: HttpRequest) -> tuple[str, str | None]:
    """client_id and client_secret from the form (client_secret_post) or HTTP Basic (client_secret_basic)."""
    scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            client_id, _, secret = base64.b64decode(encoded).decode().partition(":")
        except ValueError:
            return "", None
        return urllib.parse.unquote_plus(client_id), urllib.parse.unquote_plus(secret)
    return request.POST.get("client_id", ""), request.POST.get("client_secret")


@csrf_exempt  # a server's call with its client secret, not a browser form
@require_POST
def entra_token(request: HttpRequest, tenant: str) -> JsonResponse:
    """The tenant's token endpoint; one line in the token log per request, as token_views.TokenView writes."""
    response = _entra_answer(request, tenant)
    token_log.info(
        "token request: mailbox=- grant_type=%s status=%s", request.POST.get("grant_type", "-"), response.status_code
    )
    return response


def _entra_answer(request: HttpRequest, tenant: str) -> JsonResponse:
    """POST <base>/<tenant id or domain>/oauth2/v2.0/token, grant_type=client_credentials: an app's own token,
    with the role IMAP.AccessAsApp while the tenant administrator consents to it; without consent Entra still
    answers with a token, one with no roles, which Exchange refuses (learn.microsoft.com/en-us/answers/questions/
    5672988: "a token is generated, but the token seems to not include any of the roles")."""
    state = organisation.read(_instance_dir())
    domain = state.tenant_domain(tenant)
    if domain is None:  # AADSTS90002 InvalidTenantName (reference-error-codes)
        return _entra_error(
            400,
            "invalid_request",
            90002,
            f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into "
            "the correct cloud. Check with your subscription administrator, this may happen if there are no "
            "active subscriptions for the tenant.",
        )
    grant_type = request.POST.get("grant_type", "")
    if grant_type != "client_credentials":  # AADSTS70003 UnsupportedGrantType: Local mail serves only this one here
        return _entra_error(
            400, "unsupported_grant_type", 70003, f"The app requested an unsupported grant type '{grant_type}'."
        )
    client_id, secret = _client_credentials(request)
    app = state.apps.get(client_id)
    if app is None or app.tenant_domain != domain:  # recorded.json `aadsts700016_app_not_found`
        return _entra_error(
            400,
            "unauthorized_client",
            700016,
            f"Application with identifier '{client_id}' was not found in the directory '{domain}'. This can happen "
            "if the application has not been installed by the administrator of the tenant or consented to by any "
            "user in the tenant. You may have sent your authentication request to the wrong tenant.",
        )
    if not secret:  # AADSTS7000218 (as in secureworks/TokenMan#1)
        return _entra_error(
            401,
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        )
    if not organisation.secret_matches(app, secret):  # recorded.json `aadsts7000215_invalid_client_secret`
        return _entra_error(
            401,
            "invalid_client",
            7000215,
            "Invalid client secret provided. Ensure the secret being sent in the request is the client secret "
            f"value, not the client secret ID, for a secret added to app '{client_id}'.",
        )
    scope = request.POST.get("scope", "")
    if not scope.endswith("/.default") or " " in scope.strip():  # AADSTS1002012 (reference-error-codes)
        return _entra_error(
            400,
            "invalid_scope",
            1002012,
            f"The provided value for scope {scope} is not valid. Client credential flows must have a scope value "
            "with /.default suffixed to the resource identifier (application ID URI).",
        )
    resource = scope.removesuffix("/.default")
    if resource not in _KNOWN_RESOURCES:  # AADSTS500011 InvalidResourceServicePrincipalNotFound
        return _entra_error(
            400,
            "invalid_resource",
            500011,
            f"The resource principal named {resource} was not found in the tenant named {domain}. This can happen "
            "if the application has not been installed by the administrator of the tenant or consented to by any "
            "user in the tenant. You might have sent your authentication request to the wrong tenant.",
        )
    roles = [organisation.IMAP_APP_ROLE] if app.admin_consent and resource in _EXCHANGE_RESOURCES else []
    token = issue_access_token(client_id=app.app_id, name=f"App {app.app_id}", user=None, scope=roles)
    return JsonResponse(
        {"token_type": "Bearer", "expires_in": ACCESS_SECONDS, "ext_expires_in": ACCESS_SECONDS, "access_token": token}
    )
