"""Token endpoints wrapped around django-oauth-toolkit's (introspection: Dovecot's scope)."""

import json

from django.http import HttpResponse, JsonResponse
from oauth2_provider import views as dot_views

from localprovider import scopes


class IntrospectTokenView(dot_views.IntrospectTokenView):
    """DOT's introspection, telling Dovecot `imap` for every mail scope (see scopes.for_dovecot)."""

    @staticmethod
    def get_token_response(token_value: str | None = None) -> HttpResponse:
        response = dot_views.IntrospectTokenView.get_token_response(token_value)
        answer = json.loads(response.content)
        if not answer.get("active"):
            return response
        return JsonResponse({**answer, "scope": scopes.for_dovecot(answer.get("scope", ""))})
