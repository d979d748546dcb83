"""Google Workspace domain-wide delegation: the company's service account signs a JWT naming the mailbox's
user, and Google's token endpoint answers with an access token for that user (RFC 7523).

The assertion and the request are Google's "Preparing to make a delegated API call" / "Making the access
token request": https://developers.google.com/identity/protocols/oauth2/service-account#httprest (header
alg RS256 and kid = the key's private_key_id; claims iss = the service account's email, sub = the user
impersonated, scope, aud = the token_uri, iat, exp at most an hour later; grant_type
urn:ietf:params:oauth:grant-type:jwt-bearer). The administrator's side (client id and scopes pasted in
Admin console → Security → Access and data control → API controls → Domain-wide delegation):
https://support.google.com/a/answer/162106.
"""

import json
from dataclasses import dataclass
from datetime import datetime

import jwt
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from channels_app.providers.base import ProviderFailure
from channels_app.providers.oauth import TokenAnswer
from channels_app.providers.organisation import (
    GrantMissing,
    MintedToken,
    OrganisationGrantFailure,
    post_for_token,
)

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
# IMAP (and the Gmail API's watch) need the full mail scope: https://developers.google.com/gmail/imap/xoauth2-protocol
SCOPE = "https://mail.google.com/"
ASSERTION_LIFETIME_SECONDS = 3600
REQUIRED_FIELDS = ("type", "private_key_id", "private_key", "client_email", "client_id", "token_uri")


class KeyFileProblem(ValueError):
    """The uploaded file is no service account key; the message says why, in words for the company admin."""


@dataclass(frozen=True)
class ServiceAccountKey:
    client_email: str
    client_id: str
    private_key_id: str
    private_key: str

    def __repr__(self) -> str:
        # The dataclass repr would print the private key into tracebacks and logs.
        return f"ServiceAccountKey(client_email={self.client_email!r}, private_key_id={self.private_key_id!r})"

    @property
    def secret(self) -> dict[str, str]:
        """What is stored encrypted; the rest of the file is public and kept on the connection."""
        return {"private_key_id": self.private_key_id, "private_key": self.private_key}


@sensitive_variables("text", "data")
def parse_key_file(text: str) -> ServiceAccountKey:
    """The JSON key Google's console downloads (IAM → Service accounts → Keys → Add key → JSON).

    Its token_uri is checked present but not used: we post to Google's token endpoint from settings
    (GMAIL_TOKEN_URL), never to an address an upload names."""
    try:
        data = json.loads(text)
    except ValueError:
        raise KeyFileProblem("This file is not JSON: upload the key file exactly as Google downloaded it.") from None
    if not isinstance(data, dict) or data.get("type") != "service_account":
        raise KeyFileProblem("This is not a service account key (its type is not service_account).")
    missing = [name for name in REQUIRED_FIELDS if not isinstance(data.get(name), str) or not data[name]]
    if missing:
        raise KeyFileProblem(f"The key file has no {', '.join(missing)}.")
    if "PRIVATE KEY" not in data["private_key"]:
        raise KeyFileProblem("The key file's private_key is not a PEM private key.")
    return ServiceAccountKey(
        client_email=data["client_email"],
        client_id=data["client_id"],
        private_key_id=data["private_key_id"],
        private_key=data["private_key"],
    )


@sensitive_variables("private_key")
def assertion(
    *, client_email: str, private_key_id: str, private_key: str, token_uri: str, subject: str, now: datetime
) -> str:
    issued = int(now.timestamp())
    claims = {
        "iss": client_email,
        "sub": subject,
        "scope": SCOPE,
        "aud": token_uri,
        "iat": issued,
        "exp": issued + ASSERTION_LIFETIME_SECONDS,
    }
    try:
        return jwt.encode(claims, private_key, algorithm="RS256", headers={"kid": private_key_id})
    except (ValueError, TypeError, jwt.PyJWTError):
        raise OrganisationGrantFailure(
            "The service account's private key cannot sign: upload the key file again.",
            grant=GrantMissing.KEY,
            code="unusable key",
        ) from None


def token_error(answer: TokenAnswer) -> ProviderFailure | None:
    """Google's answers to a delegated token request; None leaves the rest to the shared reading.

    unauthorized_client: the client id is not in Domain-wide delegation for this scope (never added, or
    removed by the administrator); invalid_grant "Invalid JWT Signature.": the key was deleted or is
    another's; invalid_grant "Invalid email or User ID": the subject is no user of the Workspace.
    https://developers.google.com/identity/protocols/oauth2/service-account#error-codes
    """
    words = answer.description
    if answer.error == "unauthorized_client":
        return OrganisationGrantFailure(
            "Google refused the delegation: the service account is not allowed the mail scope in Domain-wide "
            "delegation.",
            grant=GrantMissing.DELEGATION,
            code=answer.error,
            provider_words=words,
        )
    if answer.error == "invalid_grant" and "user id" in words.lower():
        return OrganisationGrantFailure(
            "Google does not know this address as a user of the Workspace.",
            grant=GrantMissing.MAILBOX,
            code=answer.error,
            provider_words=words,
        )
    if answer.error in ("invalid_grant", "invalid_client"):
        return OrganisationGrantFailure(
            "Google refused the service account's key (deleted, disabled or not this account's).",
            grant=GrantMissing.KEY,
            code=answer.error,
            provider_words=words,
        )
    return None


@sensitive_variables("private_key")
def mint_token(
    *,
    client_email: str,
    private_key_id: str,
    private_key: str,
    token_uri: str,
    address: str,
    now: datetime | None = None,
) -> MintedToken:
    """An access token for `address`, through the delegation."""
    now = now or timezone.now()
    signed = assertion(
        client_email=client_email,
        private_key_id=private_key_id,
        private_key=private_key,
        token_uri=token_uri,
        subject=address,
        now=now,
    )
    data = {"grant_type": GRANT_TYPE, "assertion": signed}
    return post_for_token(token_uri, data, token_error, now=now)


# --- what the Workspace administrator does ---------------------------------------------------------

ADMIN_CONSOLE_URL = "https://admin.google.com/ac/owl/domainwidedelegation"


def admin_steps(*, client_id: str) -> list[str]:
    """The Workspace administrator's steps, with this company's service account filled in
    (https://support.google.com/a/answer/162106)."""
    return [
        f"Sign in to the Google Admin console as a super administrator and open Security → Access and data "
        f"control → API controls → Manage Domain Wide Delegation ({ADMIN_CONSOLE_URL}).",
        "Click Add new.",
        f"Client ID: {client_id}",
        f"OAuth scopes (comma-delimited): {SCOPE}",
        "Click Authorize. Google may take a few minutes, rarely up to 24 hours, to apply it.",
    ]


def grant_again(*, client_id: str, missing: str, address: str = "") -> str:
    """What to ask the administrator for, after a failure of kind `missing` (a GrantMissing value)."""
    if missing == GrantMissing.MAILBOX:
        return (
            f"make sure {address} is a user of the Google Workspace that delegated access (Google does not "
            "know it), or connect that address with its own sign-in instead"
        )
    if missing == GrantMissing.KEY:
        return "create a new JSON key for the service account and upload it on the Organisation connection page"
    return (
        f"add the client ID {client_id} with the scope {SCOPE} again in Admin console → Security → API controls → "
        "Domain-wide delegation"
    )
