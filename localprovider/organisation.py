"""Organisation-wide access: what a Google Workspace or Microsoft 365 administrator set up. Plain data, no Django.

Google persona (domain-wide delegation, https://developers.google.com/identity/protocols/oauth2/service-account):
service accounts with their public keys (Local mail never keeps a private key), and per domain the client ids
its administrator delegated, with their scopes (Admin console > Security > API controls > Domain-wide
delegation: https://support.google.com/a/answer/162106).

Microsoft persona (application access to IMAP,
https://learn.microsoft.com/en-us/exchange/client-developer/legacy-protocols/how-to-authenticate-an-imap-pop-smtp-application-by-using-oauth
section "Use client credentials grant flow to authenticate SMTP, IMAP and POP connections"): tenants by
domain, app registrations with their client secrets (hashed), whether the tenant administrator consented to
IMAP.AccessAsApp, and whether Exchange knows the app's service principal (New-ServicePrincipal). Which
mailboxes an app may open (Add-MailboxPermission) is kept with each mailbox (`MailboxState.applications`).

One JSON file, `<instance dir>/organisation.json` (0600: it holds secret hashes), written under a lock by
`control` and read by the OAuth server (token requests) and the IMAP front (logins).
"""

import fcntl
import hashlib
import hmac
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

# The role Exchange Online requires of an application's token for IMAP (an application permission of
# "Office 365 Exchange Online"), and the scope a client-credentials request names to get it.
IMAP_APP_ROLE = "IMAP.AccessAsApp"
EXCHANGE_DEFAULT_SCOPE = "https://outlook.office365.com/.default"


@dataclass
class ServiceAccount:
    client_email: str
    client_id: str
    project_id: str
    keys: dict[str, str] = field(default_factory=dict)  # private_key_id -> public key (PEM)


@dataclass
class App:
    app_id: str
    tenant_id: str
    tenant_domain: str
    service_principal_object_id: str
    secrets: dict[str, str] = field(default_factory=dict)  # secret id -> sha256 of the secret
    admin_consent: bool = False  # IMAP.AccessAsApp granted by the tenant administrator
    exchange_service_principal: bool = False  # New-ServicePrincipal done in Exchange Online


@dataclass
class Organisation:
    service_accounts: dict[str, ServiceAccount] = field(default_factory=dict)  # by client_email
    # domain -> {client_id: [scopes]}: the Admin console's domain-wide delegation list.
    delegations: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    tenants: dict[str, str] = field(default_factory=dict)  # domain -> tenant id
    apps: dict[str, App] = field(default_factory=dict)  # by app (client) id

    def service_account_by_client_id(self, client_id: str) -> ServiceAccount | None:
        return next((a for a in self.service_accounts.values() if a.client_id == client_id), None)

    def delegated_scopes(self, domain: str, client_id: str) -> list[str] | None:
        """The scopes `domain` delegated to `client_id`; None when it delegated nothing."""
        return self.delegations.get(domain.lower(), {}).get(client_id)

    def tenant_domain(self, tenant: str) -> str | None:
        """The domain of a tenant named by its id or by its domain, as the Microsoft token URL allows."""
        tenant = tenant.lower()
        if tenant in self.tenants:
            return tenant
        return next((domain for domain, tenant_id in self.tenants.items() if tenant_id == tenant), None)


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def secret_matches(app: App, secret: str) -> bool:
    given = secret_hash(secret)
    return any(hmac.compare_digest(given, known) for known in app.secrets.values())


def _path(instance_dir: Path) -> Path:
    return instance_dir / "organisation.json"


def read(instance_dir: Path) -> Organisation:
    try:
        data: dict[str, Any] = json.loads(_path(instance_dir).read_text())
    except (FileNotFoundError, ValueError):
        return Organisation()
    return Organisation(
        service_accounts={k: ServiceAccount(**v) for k, v in data.get("service_accounts", {}).items()},
        delegations=data.get("delegations", {}),
        tenants=data.get("tenants", {}),
        apps={k: App(**v) for k, v in data.get("apps", {}).items()},
    )


@contextmanager
def changing(instance_dir: Path) -> Iterator[Organisation]:
    """The organisation's state, written back atomically when the block ends (not if it raises); one
    writer at a time."""
    path = _path(instance_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        state = read(instance_dir)
        yield state
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(asdict(state), f)
        os.replace(tmp, path)


def domain_of(address: str) -> str:
    return address.rpartition("@")[2].lower()


def app_may_open(instance_dir: Path, mailbox: str, applications: tuple[str, ...], app_id: str) -> bool:
    """Exchange's check at an application's IMAP login (its token already carries IMAP.AccessAsApp): the
    app belongs to the mailbox's tenant, Exchange knows its service principal, and the mailbox gave it
    FullAccess (`applications`: the app ids Add-MailboxPermission named for this mailbox)."""
    app = read(instance_dir).apps.get(app_id)
    return (
        app is not None
        and app.exchange_service_principal
        and app.tenant_domain == domain_of(mailbox)
        and app_id in applications
    )
