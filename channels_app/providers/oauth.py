"""The shared OAuth 2 base: authorization code with PKCE, refresh, identity, XOAUTH2 IMAP.

Gmail, Microsoft and the local stand-in differ only in endpoints, scopes, a few
authorize parameters and where the account's address is read from.
"""

import base64
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import requests
from django.conf import settings
from imapclient import IMAPClient
from oauthlib.oauth2 import WebApplicationClient
from oauthlib.oauth2.rfc6749 import errors as oauth_errors
from requests_oauthlib import OAuth2Session

from channels_app.providers.base import (
    AuthFailure,
    ConfigurationFailure,
    Credentials,
    ImapEndpoint,
    MailProvider,
    PassingFailure,
    ProviderFailure,
)
from channels_app.providers.imap_session import imap_connection

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class OAuthConfig:
    """Where a provider lives; every value is a setting so a stand-in can replace the real one."""

    client_id: str
    client_secret: str
    authorize_url: str
    token_url: str
    userinfo_url: str
    scopes: tuple[str, ...]
    imap_host: str
    imap_port: int
    imap_ssl: bool
    authorize_params: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, values: dict[str, Any]) -> "OAuthConfig":
        return cls(
            client_id=values["CLIENT_ID"],
            client_secret=values["CLIENT_SECRET"],
            authorize_url=values["AUTHORIZE_URL"],
            token_url=values["TOKEN_URL"],
            userinfo_url=values.get("USERINFO_URL", ""),
            scopes=tuple(values["SCOPES"]),
            imap_host=values["IMAP_HOST"],
            imap_port=int(values["IMAP_PORT"]),
            imap_ssl=bool(values["IMAP_SSL"]),
            authorize_params=dict(values.get("AUTHORIZE_PARAMS", {})),
        )


def classify_oauth_error(exc: Exception) -> ProviderFailure:
    """What a failed call to the token endpoint means for the channel."""
    if isinstance(exc, oauth_errors.InvalidGrantError):
        return AuthFailure("The provider no longer accepts our authorization (it was revoked or expired).")
    if isinstance(
        exc,
        oauth_errors.InvalidClientError | oauth_errors.UnauthorizedClientError | oauth_errors.InvalidScopeError,
    ):
        return ConfigurationFailure("The provider rejected our app's registration (client id, secret or scopes).")
    if isinstance(exc, oauth_errors.ServerError | oauth_errors.TemporarilyUnavailableError):
        return PassingFailure("The provider's sign-in service is having trouble.")
    if isinstance(exc, oauth_errors.MissingTokenError | ValueError):
        return PassingFailure("The provider's sign-in service gave an unreadable answer.")
    if isinstance(exc, requests.RequestException):
        return PassingFailure("The provider's sign-in service could not be reached.")
    if isinstance(exc, oauth_errors.OAuth2Error):
        if (exc.status_code or 0) >= 500:
            return PassingFailure("The provider's sign-in service is having trouble.")
        return ConfigurationFailure(f"The provider refused the request ({exc.error}).")
    raise exc


def _credentials(token: dict[str, Any], previous_refresh: str = "") -> Credentials:
    expires_at = token.get("expires_at")
    return Credentials(
        access_token=token["access_token"],
        # A refresh that returns no new refresh token means "keep using the old one".
        refresh_token=token.get("refresh_token") or previous_refresh,
        expires_at=datetime.fromtimestamp(float(expires_at), tz=UTC) if expires_at else None,
        id_token=token.get("id_token", ""),
    )


def jwt_claims(id_token: str) -> dict[str, Any]:
    """Claims of an ID token received straight from the token endpoint over TLS.

    OpenID Connect allows skipping the signature check for a token that came
    directly from the token endpoint (Core 1.0, 3.1.3.7).
    """
    try:
        payload = id_token.split(".")[1]
        return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return {}


class OAuthProvider(MailProvider):
    uses_oauth = True
    settings_name: str  # the key in settings.MAIL_PROVIDERS

    def __init__(self, config: OAuthConfig | None = None) -> None:
        self._config = config

    @property
    def config(self) -> OAuthConfig:
        return self._config or OAuthConfig.from_settings(settings.MAIL_PROVIDERS[self.settings_name])

    def is_configured(self) -> bool:
        return bool(self.config.client_id and self.config.client_secret)

    def _session(self, **kwargs: Any) -> OAuth2Session:
        return OAuth2Session(self.config.client_id, scope=list(self.config.scopes), **kwargs)

    def authorization_url(self, *, redirect_uri: str, state: str, code_verifier: str, login_hint: str) -> str:
        challenge = WebApplicationClient(self.config.client_id).create_code_challenge(code_verifier, "S256")
        params = {"code_challenge": challenge, "code_challenge_method": "S256", **self.config.authorize_params}
        if login_hint:
            # Preselects the channel's own account at the provider's sign-in.
            params["login_hint"] = login_hint
        url, _ = self._session(redirect_uri=redirect_uri, state=state).authorization_url(
            self.config.authorize_url, **params
        )
        return url

    def _token_call(self, call: Any, **kwargs: Any) -> dict[str, Any]:
        """Call the token endpoint; its failures come out classified."""
        try:
            return call(self.config.token_url, timeout=settings.OAUTH_HTTP_TIMEOUT_SECONDS, **kwargs)
        except Exception as exc:  # noqa: BLE001 - classified, or re-raised when it is not the provider's
            failure = classify_oauth_error(exc)
            logger.info("Token endpoint of %s failed: %s (%s)", self.kind, failure.message, type(exc).__name__)
            raise failure from None

    def exchange_code(self, *, code: str, redirect_uri: str, code_verifier: str) -> Credentials:
        session = self._session(redirect_uri=redirect_uri)
        token = self._token_call(
            session.fetch_token,
            code=code,
            code_verifier=code_verifier,
            include_client_id=True,
            client_secret=self.config.client_secret,
        )
        return _credentials(token)

    def refresh(self, credentials: Credentials) -> Credentials:
        if not credentials.refresh_token:
            raise AuthFailure("There is no refresh token: the account must be reauthorized.")
        # The client's id and secret travel in the body (client_secret_post), which every provider accepts.
        token = self._token_call(
            self._session().refresh_token,
            refresh_token=credentials.refresh_token,
            client_id=self.config.client_id,
            client_secret=self.config.client_secret,
        )
        return _credentials(token, previous_refresh=credentials.refresh_token)

    def account_address(self, credentials: Credentials) -> str:
        """The address the token belongs to, from the provider's userinfo endpoint."""
        try:
            response = requests.get(
                self.config.userinfo_url,
                headers={"Authorization": f"Bearer {credentials.access_token}"},
                timeout=settings.OAUTH_HTTP_TIMEOUT_SECONDS,
            )
        except requests.RequestException:
            raise PassingFailure("The provider's account service could not be reached.") from None
        if response.status_code in (401, 403):
            raise AuthFailure("The provider did not accept the new token.")
        if response.status_code >= 500:
            raise PassingFailure("The provider's account service is having trouble.")
        try:
            data = response.json()
        except ValueError:
            raise PassingFailure("The provider's account service gave an unreadable answer.") from None
        return self.address_from_claims(data)

    def address_from_claims(self, claims: dict[str, Any]) -> str:
        address = claims.get("email") or ""
        if not address:
            raise ConfigurationFailure("The provider did not tell us the account's address (missing email scope?).")
        return str(address).strip().lower()

    def imap_endpoint(self, *, address: str, settings: dict[str, Any] | None = None) -> ImapEndpoint:
        return ImapEndpoint(self.config.imap_host, self.config.imap_port, self.config.imap_ssl, address)

    @contextmanager
    def open_mailbox(self, endpoint: ImapEndpoint, credentials: Credentials) -> Iterator[IMAPClient]:
        with imap_connection(endpoint, lambda c: c.oauth2_login(endpoint.username, credentials.access_token)) as c:
            yield c
