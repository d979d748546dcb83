"""Local mail: the stand-in provider on loopback (localprovider/), enabled in development, demo and tests.

Its own kind speaks plain OAuth 2 (no OpenID Connect): the account comes from its userinfo endpoint.
Its endpoints follow LOCAL_PROVIDER_* ports and are set in config/mail_providers.py. Local mail can
also stand in for Gmail and Microsoft 365 (their modules pointed at it), answering like them.
"""

from typing import Any, ClassVar

from django.conf import settings

from channels_app.providers.oauth import OAuthProvider


class LocalProvider(OAuthProvider):
    kind = "local"
    label = "Local mail"
    position = 90
    connects = "A mailbox on Local mail, the stand-in for Google and Microsoft that runs beside this app."
    listed_unconfigured = False  # a stand-in for development and demos: nobody should be told to ask for it
    mail_scope = "imap"
    defaults: ClassVar[dict[str, Any]] = {
        "SCOPES": "imap",
        "USERINFO_URL": "",
        "REVOKE_URL": "",
        "AUTHORIZE_PARAMS": {"prompt": "consent"},
        "TOKEN_DISUSE_DAYS": 90,
        "RENEWAL_AFTER_HOURS": 24,
        "RATE_LIMIT": 200,
    }

    def is_configured(self) -> bool:
        return settings.LOCAL_PROVIDER_ENABLED and super().is_configured()


PROVIDER = LocalProvider
