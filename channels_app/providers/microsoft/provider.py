"""Microsoft 365: the identity platform's OAuth 2, the account read from the ID token, IMAP with XOAUTH2."""

from typing import Any

from channels_app.providers.base import Credentials
from channels_app.providers.oauth import OAuthProvider, jwt_claims


class MicrosoftProvider(OAuthProvider):
    """The IMAP token's audience is Outlook, so Graph's /me cannot be called with it;
    the ID token from the same token response names the account instead."""

    kind = "microsoft"
    label = "Microsoft 365"
    settings_name = "microsoft"

    def account_address(self, credentials: Credentials) -> str:
        claims = jwt_claims(credentials.id_token) if credentials.id_token else {}
        if claims:
            return self.address_from_claims(claims)
        # Without an ID token (a stand-in server without OpenID Connect) fall back to userinfo.
        return super().account_address(credentials)

    def address_from_claims(self, claims: dict[str, Any]) -> str:
        # Work accounts often carry no `email` claim; their sign-in name is the address.
        merged = {"email": claims.get("email") or claims.get("preferred_username") or claims.get("upn") or ""}
        return super().address_from_claims(merged)
