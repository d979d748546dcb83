"""What the administrators of a Google Workspace domain or a Microsoft 365 tenant do to let an application
read every mailbox, and to take it back: `control` re-exports these (see organisation.py for the state).

Each function changes `<instance dir>/organisation.json` (or a mailbox's state) at once; the OAuth server and
the IMAP front read it on their next request. Plain data, no Django: the caller may be the main app's tests.
"""

import re
import secrets
from collections.abc import Iterable

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from localprovider import organisation
from localprovider.instance import Instance, LocalProviderError
from localprovider.organisation import ServiceAccount

# A service account's id: 6-30 characters, a lowercase letter first, then lowercase letters, digits and
# hyphens, no hyphen last (https://cloud.google.com/iam/docs/service-accounts-create#creating).
_ACCOUNT_NAME = re.compile(r"[a-z][a-z0-9-]{4,28}[a-z0-9]")


def _prepare(instance: Instance) -> None:
    instance.dir.mkdir(parents=True, exist_ok=True)


# --- Google: service accounts and domain-wide delegation ---------------------------------------------------


def create_service_account(instance: Instance, name: str, *, project_id: str = "local-mail") -> dict[str, str]:
    """A service account `<name>@<project_id>.iam.gserviceaccount.com` and its first key, as the Cloud
    console's "Create key" (JSON) downloads it: https://cloud.google.com/iam/docs/keys-create-delete.
    Local mail keeps only the public key; the returned dict is the only copy of the private one.
    (The key file's x509 certificate URLs are left out: Local mail serves no certificates.)"""
    if not _ACCOUNT_NAME.fullmatch(name):
        raise LocalProviderError(f"not a service account name: {name!r} (6-30 of a-z, 0-9, -; a letter first)")
    client_email = f"{name}@{project_id}.iam.gserviceaccount.com"
    # Google's OAuth 2 client id of a service account: a 21-digit number.
    client_id = str(10**20 + secrets.randbelow(9 * 10**20))
    _prepare(instance)
    with organisation.changing(instance.dir) as state:
        if client_email in state.service_accounts:
            raise LocalProviderError(f"service account {client_email} already exists")
        account = ServiceAccount(client_email=client_email, client_id=client_id, project_id=project_id)
        key = _new_key(instance, account)
        state.service_accounts[client_email] = account
    return key


def add_service_account_key(instance: Instance, client_email: str) -> dict[str, str]:
    """Another key for the same service account (rotation): every key works until it is deleted."""
    with organisation.changing(instance.dir) as state:
        return _new_key(instance, _service_account(state, client_email))


def delete_service_account_key(instance: Instance, client_email: str, private_key_id: str) -> str:
    """Deletes a key: assertions it signs answer "Invalid JWT Signature." from now on."""
    with organisation.changing(instance.dir) as state:
        account = _service_account(state, client_email)
        if account.keys.pop(private_key_id, None) is None:
            raise LocalProviderError(f"{client_email} has no key {private_key_id}")
    return f"deleted key {private_key_id} of {client_email}"


def _service_account(state: organisation.Organisation, client_email: str) -> ServiceAccount:
    account = state.service_accounts.get(client_email)
    if account is None:
        raise LocalProviderError(f"no service account {client_email}")
    return account


def _new_key(instance: Instance, account: ServiceAccount) -> dict[str, str]:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_key_id = secrets.token_hex(20)
    account.keys[private_key_id] = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    # The fields of Google's JSON key file, with Local mail's endpoints in place of Google's.
    return {
        "type": "service_account",
        "project_id": account.project_id,
        "private_key_id": private_key_id,
        "private_key": pem,
        "client_email": account.client_email,
        "client_id": account.client_id,
        "auth_uri": instance.authorize_url,
        "token_uri": instance.token_url,
        "universe_domain": "googleapis.com",
    }


def grant_delegation(instance: Instance, domain: str, client_id: str, scopes: str | Iterable[str]) -> str:
    """The domain's administrator delegates `scopes` (a list, or space/comma separated) to a service account's
    client id, or changes the scopes of an existing delegation (Admin console > Security > API controls >
    Domain-wide delegation > Add new / Edit: https://support.google.com/a/answer/162106)."""
    listed = scopes.replace(",", " ").split() if isinstance(scopes, str) else list(scopes)
    if not listed:
        raise LocalProviderError("a delegation needs at least one scope")
    with organisation.changing(instance.dir) as state:
        if state.service_account_by_client_id(client_id) is None:
            raise LocalProviderError(f"no service account with client id {client_id}")
        state.delegations.setdefault(domain.lower(), {})[client_id] = listed
    return f"{domain.lower()} delegates {' '.join(listed)} to {client_id}"


def withdraw_delegation(instance: Instance, domain: str, client_id: str) -> str:
    """The administrator deletes the client's delegation: its new token requests for the domain's users
    answer unauthorized_client (tokens already issued live out their hour, as at Google)."""
    with organisation.changing(instance.dir) as state:
        delegations = state.delegations.get(domain.lower(), {})
        if delegations.pop(client_id, None) is None:
            raise LocalProviderError(f"{domain.lower()} delegates nothing to {client_id}")
    return f"{domain.lower()} no longer delegates to {client_id}"
