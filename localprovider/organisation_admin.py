"""What the administrators of a Google Workspace domain or a Microsoft 365 tenant do to let an application
read every mailbox, and to take it back: `control` re-exports these (see organisation.py for the state).

Each function changes `<instance dir>/organisation.json` (or a mailbox's state) at once; the OAuth server and
the IMAP front read it on their next request. Plain data, no Django: the caller may be the main app's tests.
"""

import re
import secrets
import string
import uuid
from collections.abc import Iterable

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from localprovider import organisation, personas
from localprovider.instance import Instance, LocalProviderError
from localprovider.organisation import App, ServiceAccount

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


# --- Microsoft: app registrations, admin consent, Exchange service principals and mailbox permissions -----


def register_app(instance: Instance, tenant_domain: str) -> dict[str, str]:
    """An app registration in the tenant of `tenant_domain` (made on first use), with its enterprise application
    (service principal) and a first client secret, as Entra's App registrations > New registration and
    Certificates & secrets > New client secret give them. The secret is returned once; Local mail keeps a hash."""
    domain = tenant_domain.lower()
    _prepare(instance)
    with organisation.changing(instance.dir) as state:
        tenant_id = state.tenants.setdefault(domain, str(uuid.uuid4()))
        app = App(
            app_id=str(uuid.uuid4()),
            tenant_id=tenant_id,
            tenant_domain=domain,
            service_principal_object_id=str(uuid.uuid4()),
        )
        secret_id, secret = _new_secret(app)
        state.apps[app.app_id] = app
    return {
        "tenant_id": tenant_id,
        "app_id": app.app_id,
        "client_secret": secret,
        "client_secret_id": secret_id,
        "service_principal_object_id": app.service_principal_object_id,
        "token_url": entra_token_url(instance, tenant_id),
    }


def entra_token_url(instance: Instance, tenant: str) -> str:
    """The tenant's token endpoint, as https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token names it."""
    return f"{instance.base_url}/{tenant}/oauth2/v2.0/token"


def add_app_secret(instance: Instance, app_id: str) -> dict[str, str]:
    """Another client secret (rotation): every secret works until it is removed. {client_secret_id, client_secret}."""
    with organisation.changing(instance.dir) as state:
        secret_id, secret = _new_secret(_app(state, app_id))
    return {"client_secret_id": secret_id, "client_secret": secret}


def remove_app_secret(instance: Instance, app_id: str, secret_id: str) -> str:
    """Removes a client secret: token requests showing it answer AADSTS7000215 from now on."""
    with organisation.changing(instance.dir) as state:
        if _app(state, app_id).secrets.pop(secret_id, None) is None:
            raise LocalProviderError(f"app {app_id} has no client secret {secret_id}")
    return f"removed client secret {secret_id} of app {app_id}"


def _new_secret(app: App) -> tuple[str, str]:
    # Entra's secret values are 40 characters of letters, digits and `~._-`; their ids are GUIDs.
    alphabet = string.ascii_letters + string.digits + "~._-"
    secret = "".join(secrets.choice(alphabet) for _ in range(40))
    secret_id = str(uuid.uuid4())
    app.secrets[secret_id] = organisation.secret_hash(secret)
    return secret_id, secret


def _app(state: organisation.Organisation, app_id: str) -> App:
    app = state.apps.get(app_id)
    if app is None:
        raise LocalProviderError(f"no app registration {app_id}")
    return app


def grant_admin_consent(instance: Instance, app_id: str) -> str:
    """The tenant administrator grants the app's IMAP.AccessAsApp application permission ("Grant admin consent
    for <tenant>" under API permissions): its next tokens carry that role."""
    return _set_app(instance, app_id, admin_consent=True, said="IMAP.AccessAsApp granted to")


def withdraw_admin_consent(instance: Instance, app_id: str) -> str:
    """The administrator revokes the consent: new tokens carry no role, and Exchange refuses them; tokens already
    issued keep their role until they expire, as Entra's access tokens do (control.expire_client_tokens)."""
    return _set_app(instance, app_id, admin_consent=False, said="IMAP.AccessAsApp withdrawn from")


def new_service_principal(instance: Instance, app_id: str, object_id: str) -> str:
    """Exchange Online's New-ServicePrincipal -AppId <app id> -ObjectId <enterprise application's object id>:
    registers the app's service principal in Exchange, which mailbox permissions then name."""
    with organisation.changing(instance.dir) as state:
        app = _app(state, app_id)
        if object_id != app.service_principal_object_id:
            raise LocalProviderError(
                f"{object_id} is not the object id of app {app_id}'s enterprise application"
                f" ({app.service_principal_object_id})"
            )
        app.exchange_service_principal = True
    return f"Exchange knows the service principal of app {app_id}"


def remove_service_principal(instance: Instance, app_id: str) -> str:
    """Exchange Online's Remove-ServicePrincipal: the app opens no mailbox any more, whatever its permissions."""
    return _set_app(instance, app_id, exchange_service_principal=False, said="Exchange forgot the service principal of")


def _set_app(instance: Instance, app_id: str, *, said: str, **changes: bool) -> str:
    with organisation.changing(instance.dir) as state:
        app = _app(state, app_id)
        for name, value in changes.items():
            setattr(app, name, value)
    return f"{said} app {app_id}"


def set_mailbox_permission(instance: Instance, mailbox: str, app_id: str, *, allowed: bool) -> str:
    """Exchange Online's Add-MailboxPermission -Identity <mailbox> -User <service principal> -AccessRights
    FullAccess (allowed=False: Remove-MailboxPermission), for an existing microsoft-persona `mailbox` of the app's
    tenant (a user's or a shared one): from the next login on, the app's token opens it, or no longer does."""
    app = _app(organisation.read(instance.dir), app_id)
    if allowed and not app.exchange_service_principal:
        raise LocalProviderError(f"Exchange knows no service principal of app {app_id}: New-ServicePrincipal first")
    if organisation.domain_of(mailbox) != app.tenant_domain:
        raise LocalProviderError(f"{mailbox} is not a mailbox of the tenant {app.tenant_domain}")
    current = personas.read_state(instance.dir, mailbox)
    if current.persona != "microsoft":
        raise LocalProviderError(f"{mailbox} is not a Microsoft 365 mailbox (its persona is {current.persona})")
    others = tuple(a for a in current.applications if a != app_id)
    if not allowed and others == current.applications:
        raise LocalProviderError(f"app {app_id} has no permission on {mailbox}")
    personas.write_state(instance.dir, mailbox, applications=(*others, app_id) if allowed else others)
    return f"app {app_id} {'has' if allowed else 'no longer has'} FullAccess to {mailbox}"
