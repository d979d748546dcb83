"""Content-Security-Policy on every response: scripts, styles and images only from our own files.

No page has inline script, inline style or event-handler attributes, so markup that slips into a
page (a provider's error text, a message subject) can neither run nor restyle it.

Forms post only to our own URLs, but Reauthorize and Add channel answer their post with a redirect to
the provider's sign-in page, and Chromium holds that redirect to form-action too (a policy of 'self'
alone stops the round trip there; tests/e2e checks it). So form-action also names the authorize
origins of the OAuth providers that are set up.
"""

from collections.abc import Callable
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from channels_app.providers import get_provider, provider_classes

POLICY = (
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
)


def oauth_authorize_origins() -> list[str]:
    origins = set()
    for kind in provider_classes():
        provider = get_provider(kind)
        if provider.uses_oauth and provider.is_configured():
            url = urlsplit(provider.values["AUTHORIZE_URL"])
            origins.add(f"{url.scheme}://{url.netloc}")
    return sorted(origins)


def content_security_policy() -> str:
    return "; ".join([*POLICY, " ".join(["form-action 'self'", *oauth_authorize_origins()])])


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        # Once per process: the providers that are set up come from settings read at start-up.
        self.policy = content_security_policy()

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if settings.DEBUG and response.status_code >= 400:
            return response  # Django's debug pages style and script themselves inline
        response.headers.setdefault("Content-Security-Policy", self.policy)
        return response
