"""Token endpoints wrapped around django-oauth-toolkit's: forced answers, Dovecot's scope, Google's /revoke;
service-account assertions go to organisation_views."""

import hashlib
import json
import logging
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from oauth2_provider import views as dot_views
from oauth2_provider.models import AccessToken, Application, Grant, RefreshToken

from localprovider import organisation_views, personas, scopes
from localprovider.grants import revoke_grant
from localprovider.validator import mailbox_state

# One line per token request, naming the mailbox (never a code or token), so the instance's http.log
# shows whose requests they were: bench/new_mail.py counts them per channel.
token_log = logging.getLogger("localprovider.tokens")


def _checksum(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()  # how DOT looks tokens up (token_checksum)


def _mailbox_of_token_request(form: Any) -> str | None:
    """Whose code or refresh token a token request presents; None when it names none we issued."""
    grant_type = form.get("grant_type")
    if grant_type == "authorization_code" and form.get("code"):
        found = Grant.objects.filter(code=form["code"]).values_list("user__username", flat=True)
    elif grant_type == "refresh_token" and form.get("refresh_token"):
        found = RefreshToken.objects.filter(token_checksum=_checksum(form["refresh_token"])).values_list(
            "user__username", flat=True
        )
    else:
        return None
    return found.first()


def recorded_response(entry: dict[str, Any]) -> HttpResponse:
    """A recorded provider answer, replayed as it was: status, headers, body (JSON or text)."""
    body = entry["body"]
    response = HttpResponse(body if isinstance(body, str) else json.dumps(body), status=entry["status"])
    for name, value in entry.get("headers", {}).items():
        response[name] = value
    return response


def _asks_beyond_consent(form: Any, state: personas.MailboxState) -> bool:
    """A Microsoft refresh for a resource the person never consented to (say Graph's Mail.Read, for a grant
    made before the app asked for it) is refused with AADSTS65001, "Send an interactive authorization
    request for this user and resource" (recorded.json): the person must sign in and consent again."""
    if state.persona != "microsoft" or state.consented_scopes is None or form.get("grant_type") != "refresh_token":
        return False
    consented = state.consented_scopes.split()
    return any(scope not in consented for scope in str(form.get("scope", "")).split())


class TokenView(dot_views.TokenView):
    """DOT's token endpoint, unless the mailbox has a forced token answer: then that recorded answer,
    for the code exchange and the refresh alike, with nothing changed in the database."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        email = _mailbox_of_token_request(request.POST)
        response = self._answer(request, email, *args, **kwargs)
        token_log.info(
            "token request: mailbox=%s grant_type=%s status=%s",
            email or organisation_views.assertion_subject(request.POST) or "-",
            request.POST.get("grant_type", "-"),
            response.status_code,
        )
        return response

    def _answer(self, request: HttpRequest, email: str | None, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.POST.get("grant_type") == organisation_views.JWT_BEARER_GRANT:
            return organisation_views.google_assertion(request)  # a service account's, not DOT's
        if email is not None:
            state = mailbox_state(email)
            if state.token_answer is not None:
                return recorded_response(personas.recorded(state.persona, "token")[state.token_answer])
            if _asks_beyond_consent(request.POST, state):
                return recorded_response(personas.recorded("microsoft", "token")["aadsts65001_consent_withdrawn"])
        return super().post(request, *args, **kwargs)


class IntrospectTokenView(dot_views.IntrospectTokenView):
    """DOT's introspection, telling Dovecot `imap` for every mail scope (see scopes.for_dovecot).

    A client's own token (a service account's without `sub`, an app's from the client-credentials grant) has
    no user: its username is then the client id, the subject such a token has at Google and Microsoft alike.
    Dovecot, which needs a username, then refuses it for any mailbox as a mismatch instead of failing
    "temporarily"; the IMAP front recognises an application's token by it (imap_front/delegation.py)."""

    @staticmethod
    def get_token_response(token_value: str | None = None) -> HttpResponse:
        response = dot_views.IntrospectTokenView.get_token_response(token_value)
        answer = json.loads(response.content)
        if not answer.get("active"):
            return response
        username = answer.get("username") or answer.get("client_id")
        return JsonResponse({**answer, "username": username, "scope": scopes.for_dovecot(answer.get("scope", ""))})


def _owner(token: str) -> tuple[Any, Application] | None:
    """The user and client of a live access token or an unrevoked refresh token."""
    checksum = _checksum(token)
    access = AccessToken.objects.filter(token_checksum=checksum, expires__gt=timezone.now()).first()
    if access is not None and access.user_id is not None and access.application_id is not None:
        return access.user, access.application
    refresh = RefreshToken.objects.filter(token_checksum=checksum, revoked__isnull=True).first()
    if refresh is not None:
        return refresh.user, refresh.application
    return None


@csrf_exempt
@require_POST
def google_revoke(request: HttpRequest) -> JsonResponse:
    """Google's revocation endpoint: `token` (access or refresh), no client authentication; ends the
    whole grant, every token of that person for that client.
    200 `{}` or 400 invalid_token: https://developers.google.com/identity/protocols/oauth2/web-server#tokenrevoke;
    the error body as recorded in mrdulin/nodejs-googleapis (README, "revoke access token failed")."""
    # Google also takes the token in the query string (its curl sample: POST /revoke?token=...).
    owner = _owner(request.POST.get("token") or request.GET.get("token") or "")
    if owner is None:
        return JsonResponse({"error": "invalid_token", "error_description": "Token expired or revoked"}, status=400)
    revoke_grant(*owner)
    return JsonResponse({})
