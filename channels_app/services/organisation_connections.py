"""A company admin's writes to the company's organisation connections: the key or secret (stored encrypted,
rotated, never shown again), the ids the instructions name, and removing a connection."""

import hashlib
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from channels_app import crypto
from channels_app.models import Company, OrganisationConnection, OrganisationProvider, OrganisationStatus
from channels_app.providers.gmail.delegation import ServiceAccountKey
from channels_app.selectors.organisation import organisation_connection_or_new


class ConnectionInUse(Exception):
    """Channels still open their mailboxes through the connection: removing it would cut them off."""

    def __init__(self, count: int) -> None:
        self.count = count
        super().__init__(
            f"{count} channel{'s' if count != 1 else ''} open their mailboxes through this connection: remove "
            "them (or connect them with their own sign-in) first."
        )


@dataclass(frozen=True)
class MicrosoftSettings:
    tenant_id: str
    client_id: str
    service_principal_id: str


def secret_fingerprint(secret: dict[str, str]) -> str:
    """What pages show of a secret: Google's own key id, or a short digest of a client secret."""
    if secret.get("private_key_id"):
        return secret["private_key_id"]
    return "sha256:" + hashlib.sha256(secret.get("client_secret", "").encode()).hexdigest()[:16]


@sensitive_variables("secret")
def _store_secret(connection: OrganisationConnection, secret: dict[str, str]) -> None:
    """The new secret becomes current; the current one is kept as previous, tried when the provider refuses
    the new one (services/organisation_tokens.py), until the company admin forgets it once deleted at the
    provider: rotating never breaks a working connection."""
    fingerprint = secret_fingerprint(secret)
    if connection.secret_ciphertext and fingerprint != connection.secret_fingerprint:
        connection.previous_secret_ciphertext = connection.secret_ciphertext
        connection.previous_secret_fingerprint = connection.secret_fingerprint
        connection.previous_secret_added_at = connection.secret_added_at
    connection.secret_ciphertext = crypto.encrypt_json(secret)
    connection.secret_fingerprint = fingerprint
    connection.secret_added_at = timezone.now()


@sensitive_variables("key")
@transaction.atomic
def google_key_save(*, company: Company, key: ServiceAccountKey) -> OrganisationConnection:
    """Upload (or rotate) the service account's key. Another service account's key starts over: the
    delegation the administrator made names the old one's client id."""
    connection = organisation_connection_or_new(company=company, provider=OrganisationProvider.GOOGLE)
    if connection.client_id and connection.client_id != key.client_id:
        connection.previous_secret_ciphertext = ""
        connection.previous_secret_fingerprint = ""
        connection.previous_secret_added_at = None
        connection.secret_ciphertext = ""
        connection.status = OrganisationStatus.UNTESTED
        connection.status_since = timezone.now()
    connection.client_email, connection.client_id = key.client_email, key.client_id
    _store_secret(connection, key.secret)
    connection.save()
    return connection


@sensitive_variables("client_secret")
@transaction.atomic
def microsoft_settings_save(
    *, company: Company, settings: MicrosoftSettings, client_secret: str | None
) -> OrganisationConnection:
    """The tenant and app ids; `client_secret` None keeps the stored one, a new one rotates it."""
    connection = organisation_connection_or_new(company=company, provider=OrganisationProvider.MICROSOFT)
    connection.tenant_id = settings.tenant_id
    connection.client_id = settings.client_id
    connection.service_principal_id = settings.service_principal_id
    if client_secret:
        _store_secret(connection, {"client_secret": client_secret})
    connection.save()
    return connection


def organisation_forget_previous_key(*, connection: OrganisationConnection) -> None:
    """The company admin deleted the old key at the provider: we forget it too."""
    connection.previous_secret_ciphertext = ""
    connection.previous_secret_fingerprint = ""
    connection.previous_secret_added_at = None
    connection.save(
        update_fields=["previous_secret_ciphertext", "previous_secret_fingerprint", "previous_secret_added_at"]
    )


def organisation_connection_remove(*, connection: OrganisationConnection) -> None:
    """Forget the connection and its keys; refused while channels go through it."""
    count = connection.channels.count()
    if count:
        raise ConnectionInUse(count)
    connection.delete()
