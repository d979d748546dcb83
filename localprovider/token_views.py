"""Token endpoints wrapped around django-oauth-toolkit's: forced answers, Dovecot's scope."""

import hashlib
import json
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from oauth2_provider import views as dot_views
from oauth2_provider.models import Grant, RefreshToken

from localprovider import personas, scopes
from localprovider.validator import mailbox_state


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


class TokenView(dot_views.TokenView):
    """DOT's token endpoint, unless the mailbox has a forced token answer: then that recorded answer,
    for the code exchange and the refresh alike, with nothing changed in the database."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        email = _mailbox_of_token_request(request.POST)
        if email is not None:
            state = mailbox_state(email)
            if state.token_answer is not None:
                return recorded_response(personas.recorded(state.persona, "token")[state.token_answer])
        return super().post(request, *args, **kwargs)


class IntrospectTokenView(dot_views.IntrospectTokenView):
    """DOT's introspection, telling Dovecot `imap` for every mail scope (see scopes.for_dovecot)."""

    @staticmethod
    def get_token_response(token_value: str | None = None) -> HttpResponse:
        response = dot_views.IntrospectTokenView.get_token_response(token_value)
        answer = json.loads(response.content)
        if not answer.get("active"):
            return response
        return JsonResponse({**answer, "scope": scopes.for_dovecot(answer.get("scope", ""))})
