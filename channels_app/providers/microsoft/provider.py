"""Microsoft 365: the identity platform's OAuth 2, the account from the checked ID token, IMAP with XOAUTH2."""

from typing import Any, ClassVar

from channels_app.providers.base import Credentials, ProviderFailure
from channels_app.providers.microsoft import errors
from channels_app.providers.oauth import OAuthProvider, TokenAnswer


class MicrosoftProvider(OAuthProvider):
    """The IMAP token's audience is Outlook, so Graph's /me cannot be called with it;
    the ID token from the same token response names the account instead."""

    kind = "microsoft"
    label = "Microsoft 365"
    position = 20
    connects = (
        "An Outlook or Microsoft 365 mailbox, or a shared mailbox you have Full Access to: you sign in with Microsoft."
    )
    mail_scope = "https://outlook.office.com/IMAP.AccessAsUser.All"
    # A shared mailbox has no sign-in: a delegate with Full Access signs in, and the XOAUTH2 user names the
    # shared mailbox with the delegate's token ("SASL XOAUTH2 authentication for shared mailboxes in Office
    # 365": https://learn.microsoft.com/en-us/exchange/client-developer/legacy-protocols/how-to-authenticate-an-imap-pop-smtp-application-by-using-oauth).
    opens_shared_mailboxes = True
    revocation_note = (
        "Microsoft offers apps no way to give their access back. To end it, remove Shared Inbox from the "
        "account's apps at https://myapps.microsoft.com (or an administrator removes it in Entra ID)."
    )
    defaults: ClassVar[dict[str, Any]] = {
        "CLIENT_ID": "",
        "CLIENT_SECRET": "",
        "AUTHORIZE_URL": "https://login.microsoftonline.com/common/oauth2/v2.0/authorize",
        "TOKEN_URL": "https://login.microsoftonline.com/common/oauth2/v2.0/token",
        "USERINFO_URL": "",
        # No revocation endpoint exists for apps: https://learn.microsoft.com/en-us/entra/identity-platform/refresh-tokens#token-revocation
        "REVOKE_URL": "",
        "JWKS_URL": "https://login.microsoftonline.com/common/discovery/v2.0/keys",
        # {tenantid} is the ID token's own tid: https://learn.microsoft.com/en-us/entra/identity-platform/id-token-claims-reference
        "ISSUER": "https://login.microsoftonline.com/{tenantid}/v2.0",
        # IMAP first: a code exchange without `scope` gets a token for the first resource consented to.
        # Graph's Mail.Read is for change notifications (graph.py), asked for in a refresh of its own.
        "SCOPES": (
            "openid email offline_access https://outlook.office.com/IMAP.AccessAsUser.All "
            "https://graph.microsoft.com/Mail.Read"
        ),
        "GRAPH_URL": "https://graph.microsoft.com/v1.0",
        # A tenant's own token endpoint, for the app token of an organisation connection (app_access.py).
        "APP_TOKEN_URL": "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token",
        "GRAPH_SCOPE": "https://graph.microsoft.com/Mail.Read",
        "IMAP_HOST": "outlook.office365.com",
        "IMAP_PORT": 993,
        "IMAP_SSL": True,
        # Microsoft accepts a single prompt value.
        "AUTHORIZE_PARAMS": {"prompt": "select_account"},
        # Refresh tokens die after 90 days unused: https://learn.microsoft.com/en-us/entra/identity-platform/refresh-tokens#token-lifetime
        "TOKEN_DISUSE_DAYS": 90,
        # Our Graph subscriptions are made to last 4,230 minutes (graph.py); renew after 2 days.
        "RENEWAL_AFTER_HOURS": 48,
        "RATE_LIMIT": 20,
    }

    @property
    def refresh_scopes(self) -> list[str]:
        """One resource per access token on the v2 endpoint ("scopes must all be from a single resource":
        https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-auth-code-flow#refresh-the-access-token):
        the IMAP token's refresh leaves Graph out; graph.py asks for Graph's token separately."""
        graph = str(self.values["GRAPH_SCOPE"]).lower()
        return [scope for scope in self.scopes if scope.lower() != graph]

    def token_error(self, answer: TokenAnswer, credentials: Credentials | None) -> ProviderFailure:
        return errors.token_error(answer)

    def authorize_error(self, query: dict[str, str]) -> ProviderFailure | None:
        return errors.authorize_error(query) or super().authorize_error(query)

    def classify_imap_answer(self, text: str, *, during_login: bool) -> ProviderFailure | None:
        return errors.imap_answer(text)

    def account_address(self, credentials: Credentials) -> str:
        """The sign-in name from the checked ID token: `preferred_username`, or `upn` for older tokens.
        Never `email`: users can change it, so it does not identify the mailbox."""
        if not credentials.id_token and self.values["USERINFO_URL"]:
            return self.address_from_userinfo(credentials)
        issuer = str(self.values["ISSUER"])
        claims = self.id_token_claims(
            credentials, lambda iss, claims: iss == issuer.replace("{tenantid}", str(claims.get("tid", "")))
        )
        return self.checked_address(claims.get("preferred_username") or claims.get("upn"))


PROVIDER = MicrosoftProvider
