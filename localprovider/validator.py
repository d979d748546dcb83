"""django-oauth-toolkit's validator, answering per mailbox persona (OAUTH2_VALIDATOR_CLASS)."""

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.settings import oauth2_settings
from oauthlib.common import Request

from localprovider import identity, personas, scopes


def mailbox_state(email: str) -> personas.MailboxState:
    """A mailbox's persona and forced answers, read afresh on every request (control writes them)."""
    # getattr: INSTANCE_DIR exists only in localprovider.settings, which the type checker does not load.
    return personas.read_state(getattr(settings, "INSTANCE_DIR"), email)  # noqa: B009


def _mailbox(request: Request) -> tuple[str | None, personas.MailboxState]:
    """The signed-in (or token-owning) mailbox and its state; none for client-credentials requests."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None, personas.MailboxState()
    return user.get_username(), mailbox_state(user.get_username())


class PersonaValidator(OAuth2Validator):
    # DOT keeps only the claims its own table ties to a granted scope; ours choose per persona.
    oidc_claim_scope = None

    def rotate_refresh_token(self, request: Request) -> bool:
        # Google keeps the refresh token: a refresh answer has none and the old one keeps working
        # (https://developers.google.com/identity/protocols/oauth2/web-server#offline). Microsoft
        # sends a new one on every refresh (as DOT's ROTATE_REFRESH_TOKEN does for plain), though the
        # old one is not revoked (_save_bearer_token).
        _email, state = _mailbox(request)
        return state.persona != "google" and bool(super().rotate_refresh_token(request))

    def is_within_original_scope(self, request_scopes: list[str], refresh_token: str, request: Request) -> bool:
        """Microsoft's refresh tokens are good for every resource the person consented to, one per access
        token (the app asks Graph's Mail.Read and Outlook's IMAP in turn); DOT would hold a refresh to the
        scopes of the token it last issued."""
        email, state = _mailbox(request)
        consented = (state.consented_scopes or "").split()
        return bool(email and state.persona == "microsoft" and all(scope in consented for scope in request_scopes))

    def save_bearer_token(self, token: dict[str, Any], request: Request, *args: Any, **kwargs: Any) -> None:
        email, state = _mailbox(request)
        if email and state.persona == "microsoft" and request.grant_type == "authorization_code":
            # The consent covers every resource asked for; the access token only the first (Microsoft's
            # one resource per token), so the IMAP token opens no Graph call.
            personas.write_state(getattr(settings, "INSTANCE_DIR"), email, consented_scopes=token["scope"])  # noqa: B009
            token["scope"] = scopes.first_resource_only(token["scope"])
        # Stored as granted (introspection reads it); only the answer is worded like the provider's.
        super().save_bearer_token(token, request, *args, **kwargs)
        token["scope"] = scopes.reported_scope(state.persona, token["scope"])
        if not self.rotate_refresh_token(request) and request.grant_type == "refresh_token":
            token.pop("refresh_token", None)

    def _save_bearer_token(self, token: dict[str, Any], request: Request, *args: Any, **kwargs: Any) -> None:
        """A microsoft refresh mints a new pair and leaves the previous ones alone: Microsoft's access
        tokens cannot be revoked and live out their lifetime (60-90 minutes), and its refresh tokens replace
        themselves on every use without the old one being revoked
        (https://learn.microsoft.com/en-us/entra/identity-platform/access-tokens, "Token lifetime";
        https://learn.microsoft.com/en-us/entra/identity-platform/refresh-tokens, "Token lifetime").
        An app holding one token per resource (Outlook's IMAP, Graph) relies on that: refreshing one must
        not end the other. DOT's rotation revokes the used refresh token and deletes its access token, and
        its REFRESH_TOKEN_GRACE_PERIOD_SECONDS is no way round it: within the grace it hands back the
        previous access token, of whichever resource that was. Google and plain keep DOT's behaviour;
        revoking the grant (grants.revoke_grant) still ends every token, these included."""
        email, state = _mailbox(request)
        if not (email and state.persona == "microsoft" and request.grant_type == "refresh_token"):
            super()._save_bearer_token(token, request, *args, **kwargs)
            return
        self._check_and_set_request_resource(request)
        lifetime = token.get("expires_in", oauth2_settings.ACCESS_TOKEN_EXPIRE_SECONDS)
        # No source_refresh_token: it is one-to-one, and an unrevoked refresh token can mint many.
        access = self._create_access_token(timezone.now() + timedelta(seconds=lifetime), request, token)
        self._create_refresh_token(request, token["refresh_token"], access, request.refresh_token_instance)

    def get_additional_claims(self, request: Request) -> dict[str, object]:
        email, state = _mailbox(request)
        return identity.claims(state, email, request.scopes) if email else {}

    def get_oidc_issuer_endpoint(self, request: Request) -> str:
        email, state = _mailbox(request)
        return identity.issuer(state, email, super().get_oidc_issuer_endpoint(request))
