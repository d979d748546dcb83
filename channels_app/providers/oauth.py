"""The shared OAuth 2 base: authorization code with PKCE, refresh, identity, revocation, XOAUTH2 IMAP.

A provider module supplies its endpoints and scopes (`defaults`), the scope that grants mail, how it
names the account and how its error answers read (`token_error`, `authorize_error`). Everything
that goes over the wire to the token endpoint goes through `_token_call`, the one place that reads
the provider's raw answer.
"""

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

import requests
from django.conf import settings
from django.utils import timezone
from imapclient import IMAPClient
from oauthlib.oauth2 import WebApplicationClient
from requests_oauthlib import OAuth2Session

from channels_app.providers.base import (
    AuthFailure,
    ConfigurationFailure,
    Credentials,
    ImapEndpoint,
    ImapSecurity,
    MailProvider,
    PassingFailure,
    PolicyFailure,
    ProviderFailure,
    RevokeOutcome,
    ScopeNotGranted,
    unrecognised,
)
from channels_app.providers.id_token import verified_claims
from channels_app.providers.imap_session import imap_connection, xoauth2_login

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TokenAnswer:
    """The token endpoint's raw answer to a failed request, as the provider sent it."""

    status: int
    body: dict[str, Any] | str
    retry_after: int | None

    @classmethod
    def from_response(cls, response: requests.Response) -> "TokenAnswer":
        try:
            body: dict[str, Any] | str = response.json()
            if not isinstance(body, dict):
                body = response.text[:2000]
        except ValueError:
            body = response.text[:2000]
        retry = response.headers.get("Retry-After", "")
        return cls(response.status_code, body, int(retry) if retry.strip().isdigit() else None)

    @property
    def error(self) -> str:
        error = self.body.get("error") if isinstance(self.body, dict) else None
        return error if isinstance(error, str) else ""

    @property
    def description(self) -> str:
        text = self.body.get("error_description", "") if isinstance(self.body, dict) else ""
        # Microsoft appends trace and correlation ids on new lines; the first line is the message.
        return str(text).splitlines()[0].strip() if text else ""


def generic_token_error(answer: TokenAnswer) -> ProviderFailure:
    """RFC 6749 section 5.2, plus HTTP's own ways of saying "not now"."""
    words = answer.description
    if answer.status == 429:
        return PassingFailure(
            "The provider is throttling our requests.", code="HTTP 429", retry_after=answer.retry_after, throttled=True
        )
    if answer.status >= 500:
        return PassingFailure(
            "The provider's sign-in service is having trouble.",
            code=answer.error or f"HTTP {answer.status}",
            retry_after=answer.retry_after,
        )
    error = answer.error
    if error == "invalid_grant":
        return AuthFailure(
            "The provider no longer accepts our authorization (it was revoked or expired).",
            code=error,
            provider_words=words,
        )
    if error in ("invalid_client", "unauthorized_client", "unsupported_grant_type", "invalid_scope"):
        return ConfigurationFailure(
            "The provider rejected this app's registration (client id, secret or scopes).",
            code=error,
            provider_words=words,
        )
    if error in ("temporarily_unavailable", "server_error"):
        return PassingFailure("The provider's sign-in service is having trouble.", code=error, provider_words=words)
    return unrecognised(error or f"HTTP {answer.status}", words)


def _credentials(token: dict[str, Any], previous: Credentials | None = None) -> Credentials:
    expires_at = token.get("expires_at")
    return Credentials(
        access_token=token["access_token"],
        # A refresh that returns no new refresh token (Google's way) means "keep using the old one".
        refresh_token=token.get("refresh_token") or (previous.refresh_token if previous else ""),
        expires_at=datetime.fromtimestamp(float(expires_at), tz=UTC) if expires_at else None,
        granted_at=previous.granted_at if previous else timezone.now(),
        id_token=token.get("id_token", ""),
    )


class OAuthProvider(MailProvider):
    uses_oauth = True
    # The scope without which there is no mail access: a grant that lacks it is refused.
    mail_scope: ClassVar[str]
    # What this provider calls our scopes in its answers (Google rewrites `email`).
    scope_aliases: ClassVar[dict[str, str]] = {}

    @property
    def scopes(self) -> list[str]:
        scopes = self.values["SCOPES"]
        return scopes.split() if isinstance(scopes, str) else list(scopes)

    def is_configured(self) -> bool:
        return bool(self.values.get("CLIENT_ID") and self.values.get("CLIENT_SECRET"))

    @property
    def refresh_scopes(self) -> list[str]:
        """What a refresh asks for: the consent's scopes, unless the provider issues one resource per token."""
        return self.scopes

    def _session(self, scopes: list[str] | None = None, **kwargs: Any) -> OAuth2Session:
        return OAuth2Session(self.values["CLIENT_ID"], scope=scopes or self.scopes, **kwargs)

    def authorization_url(self, *, redirect_uri: str, state: str, code_verifier: str, login_hint: str) -> str:
        challenge = WebApplicationClient(self.values["CLIENT_ID"]).create_code_challenge(code_verifier, "S256")
        params = {"code_challenge": challenge, "code_challenge_method": "S256", **self.values["AUTHORIZE_PARAMS"]}
        if login_hint:
            # Preselects the channel's own account at the provider's sign-in.
            params["login_hint"] = login_hint
        url, _ = self._session(redirect_uri=redirect_uri, state=state).authorization_url(
            self.values["AUTHORIZE_URL"], **params
        )
        return url

    # --- the token endpoint ------------------------------------------------------------------

    def token_error(self, answer: TokenAnswer, credentials: Credentials | None) -> ProviderFailure:
        """What a failed token request means; providers read their own codes first."""
        return generic_token_error(answer)

    def _token_call(
        self, session: OAuth2Session, call: Callable[..., dict[str, Any]], hook: str, credentials: Credentials | None
    ) -> dict[str, Any]:
        """Call the token endpoint; every way it can fail comes out classified."""
        answers: list[requests.Response] = []

        def keep(response: requests.Response) -> requests.Response:
            answers.append(response)
            return response

        session.register_compliance_hook(hook, keep)
        try:
            return dict(call())
        except Warning as changed:
            # oauthlib raises a bare Warning when the granted scopes differ from those asked for
            # (Google expands `email`, Microsoft never echoes `offline_access`); the token is attached.
            token = getattr(changed, "token", None)
            if token is None:
                raise
            return dict(token)
        except requests.RequestException:
            failure: ProviderFailure = PassingFailure(
                "The provider's sign-in service could not be reached.", code="network"
            )
        except Exception as exc:  # every answer from the provider is classified, none escapes
            if answers and answers[-1].status_code != 200:
                failure = self.token_error(TokenAnswer.from_response(answers[-1]), credentials)
            else:
                failure = unrecognised(f"unreadable token answer ({type(exc).__name__})")
        logger.info("Token endpoint of %s: %s %s (%s)", self.kind, failure.kind, failure.code, failure.message)
        raise failure

    def _check_scopes(self, token: dict[str, Any]) -> None:
        granted = token.get("scope") or []
        granted = granted.split() if isinstance(granted, str) else list(granted)
        named = {self.scope_aliases.get(scope, scope).lower() for scope in granted}
        if self.mail_scope.lower() not in named:
            raise ScopeNotGranted(
                f"You did not allow access to your mail at {self.label} (the mail permission was not ticked). "
                "Nothing was changed: try again and leave it ticked.",
                code="scope",
            )

    def exchange_code(self, *, code: str, redirect_uri: str, code_verifier: str) -> Credentials:
        session = self._session(redirect_uri=redirect_uri)
        token = self._token_call(
            session,
            lambda: session.fetch_token(
                self.values["TOKEN_URL"],
                code=code,
                code_verifier=code_verifier,
                include_client_id=True,
                client_secret=self.values["CLIENT_SECRET"],
                timeout=settings.OAUTH_HTTP_TIMEOUT_SECONDS,
            ),
            "access_token_response",
            None,
        )
        credentials = _credentials(token)
        try:
            self._check_scopes(token)
        except ScopeNotGranted:
            self.revoke(credentials)
            raise
        return credentials

    def refresh(self, credentials: Credentials, scopes: list[str] | None = None) -> Credentials:
        """New tokens from the refresh token; `scopes` asks for another resource's token (Microsoft Graph)."""
        if not credentials.refresh_token:
            raise AuthFailure("There is no refresh token: the account must be reauthorized.", code="no refresh token")
        session = self._session(scopes or self.refresh_scopes)
        # The client's id and secret travel in the body (client_secret_post), which every provider accepts.
        token = self._token_call(
            session,
            lambda: session.refresh_token(
                self.values["TOKEN_URL"],
                refresh_token=credentials.refresh_token,
                client_id=self.values["CLIENT_ID"],
                client_secret=self.values["CLIENT_SECRET"],
                timeout=settings.OAUTH_HTTP_TIMEOUT_SECONDS,
            ),
            "refresh_token_response",
            credentials,
        )
        return _credentials(token, previous=credentials)

    # --- the redirect back ---------------------------------------------------------------------

    def authorize_error(self, query: dict[str, str]) -> ProviderFailure | None:
        error, words = query.get("error", ""), query.get("error_description", "").splitlines()[0:1]
        description = words[0] if words else ""
        if error == "access_denied":
            return None
        if error in ("unauthorized_client", "invalid_client", "invalid_scope", "invalid_request"):
            return ConfigurationFailure(
                "The provider rejected this app's registration.", code=error, provider_words=description
            )
        if error in ("server_error", "temporarily_unavailable"):
            return PassingFailure("The provider's sign-in service is having trouble.", code=error)
        return unrecognised(error[:80], description)

    # --- identity --------------------------------------------------------------------------------

    def account_address(self, credentials: Credentials) -> str:
        """The address the token belongs to, from the provider's userinfo endpoint."""
        return self.address_from_userinfo(credentials)

    def address_from_userinfo(self, credentials: Credentials) -> str:
        try:
            response = requests.get(
                self.values["USERINFO_URL"],
                headers={"Authorization": f"Bearer {credentials.access_token}"},
                timeout=settings.OAUTH_HTTP_TIMEOUT_SECONDS,
            )
        except requests.RequestException:
            raise PassingFailure("The provider's account service could not be reached.", code="network") from None
        if response.status_code in (401, 403):
            raise AuthFailure("The provider did not accept the new token.", code=f"HTTP {response.status_code}")
        if response.status_code >= 500:
            raise PassingFailure(
                "The provider's account service is having trouble.", code=f"HTTP {response.status_code}"
            )
        try:
            data = response.json()
        except ValueError:
            raise unrecognised("unreadable userinfo") from None
        if data.get("email_verified") is False:
            raise ConfigurationFailure(
                "The provider says this account's address is not verified.", code="email_verified"
            )
        return self.checked_address(data.get("email"))

    def id_token_claims(
        self, credentials: Credentials, issuer_ok: Callable[[str, dict[str, Any]], bool]
    ) -> dict[str, Any]:
        return verified_claims(
            credentials.id_token,
            jwks_url=self.values["JWKS_URL"],
            client_id=self.values["CLIENT_ID"],
            issuer_ok=issuer_ok,
        )

    def checked_address(self, value: object) -> str:
        address = str(value or "").strip().lower()
        if "@" not in address:
            raise ConfigurationFailure(
                "The provider did not tell us the account's address (missing email scope?).", code="no address"
            )
        return address

    # --- giving access back ---------------------------------------------------------------------

    def revoke(self, credentials: Credentials) -> RevokeOutcome:
        url = self.values.get("REVOKE_URL", "")
        token = credentials.refresh_token or credentials.access_token
        if not token:
            return RevokeOutcome.NOTHING_TO_REVOKE
        if not url:
            return RevokeOutcome.UNSUPPORTED
        data = {"token": token, **self.revoke_client_auth()}
        try:
            response = requests.post(url, data=data, timeout=settings.OAUTH_HTTP_TIMEOUT_SECONDS)
        except requests.RequestException:
            return RevokeOutcome.FAILED
        # 400 with invalid_token: the grant was already dead, which is what we wanted.
        if response.status_code == 200 or (response.status_code == 400 and "invalid_token" in response.text):
            return RevokeOutcome.REVOKED
        logger.info("Revocation at %s answered HTTP %s", self.kind, response.status_code)
        return RevokeOutcome.FAILED

    def revoke_client_auth(self) -> dict[str, str]:
        """Client authentication for the revocation endpoint (RFC 7009 asks confidential clients for it)."""
        return {"client_id": self.values["CLIENT_ID"], "client_secret": self.values["CLIENT_SECRET"]}

    # --- the mailbox -----------------------------------------------------------------------------

    def imap_endpoint(self, *, address: str, settings: dict[str, Any] | None = None) -> ImapEndpoint:
        values = self.values
        security = ImapSecurity.TLS if values["IMAP_SSL"] else ImapSecurity.NONE
        return ImapEndpoint(values["IMAP_HOST"], int(values["IMAP_PORT"]), security, address, staff_configured=True)

    @contextmanager
    def open_mailbox(self, endpoint: ImapEndpoint, credentials: Credentials) -> Iterator[IMAPClient]:
        login = lambda client: xoauth2_login(client, endpoint.username, credentials.access_token)  # noqa: E731
        with imap_connection(endpoint, login, self.imap_classifier) as client:
            yield client

    def imap_classifier(self, text: str, during_login: bool) -> ProviderFailure | None:
        return self.classify_imap_answer(text, during_login=during_login)


def policy(message: str, *, admin_action: str, code: str, words: str) -> PolicyFailure:
    return PolicyFailure(message, admin_action=admin_action, code=code, provider_words=words)
