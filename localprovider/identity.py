"""Who a mailbox is in an ID token, per persona: issuer and claims. Plain data, no Django.

Google: https://developers.google.com/identity/openid-connect/openid-connect#an-id-tokens-payload
Microsoft: https://learn.microsoft.com/en-us/entra/identity-platform/id-token-claims-reference
The signature, `aud`, `iat`, `exp`, `sub` and `nonce` come from django-oauth-toolkit and oauthlib.
"""

import time
import uuid
from collections.abc import Collection

from localprovider.personas import MailboxState

# Fixed namespaces, so a mailbox keeps its ids across instances and restarts.
_TENANT_NAMESPACE = uuid.UUID("6f1e8a52-3c1d-4c55-9a8e-2b8f0d7c4e10")
_OBJECT_NAMESPACE = uuid.UUID("0b7d5c3e-9a41-4f2b-8c6d-5e1a2f3b4c5d")


def tenant_id(email: str) -> str:
    """Microsoft's `tid`: one directory per mail domain, as a company's Entra tenant."""
    return str(uuid.uuid5(_TENANT_NAMESPACE, email.rpartition("@")[2].lower()))


def object_id(email: str) -> str:
    """Microsoft's `oid`: the account's immutable id in its tenant."""
    return str(uuid.uuid5(_OBJECT_NAMESPACE, email.lower()))


def issuer(state: MailboxState, email: str | None, base_url: str) -> str:
    """`iss`: Google's is one URL (ours stands for https://accounts.google.com); Microsoft's names the
    tenant, https://login.microsoftonline.com/{tid}/v2.0."""
    if state.persona == "microsoft" and email:
        return f"{base_url}/{tenant_id(email)}/v2.0"
    return base_url


def claims(state: MailboxState, email: str, scopes: Collection[str]) -> dict[str, object]:
    """The persona's own claims of an ID token; `email` only with the `email` scope, as both do."""
    if state.persona == "microsoft":
        found: dict[str, object] = {
            "tid": tenant_id(email),
            "oid": object_id(email),
            "preferred_username": email,
            "ver": "2.0",
            "nbf": int(time.time()),
        }
        if "email" in scopes:
            # Microsoft's `email` is a mutable, optional attribute that may differ from the sign-in name.
            found["email"] = state.email_claim or email
        return found
    # Google (and plain, which has no provider of its own to imitate).
    return {"email": email, "email_verified": True} if "email" in scopes else {}
