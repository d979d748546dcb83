"""Organisation connections for tests: a real RSA service account key, Google's and Microsoft's connections
of the tenancy's company, and their mailboxes served by the in-memory IMAP front."""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from channels_app.models import ChannelStatus, OrganisationConnection, OrganisationDomain, ReasonCode
from channels_app.providers.gmail.delegation import parse_key_file
from channels_app.services.organisation_connections import (
    MicrosoftSettings,
    google_key_save,
    microsoft_settings_save,
)
from channels_app.services.organisation_tokens import forget_tokens

TENANT = "contoso.onmicrosoft.com"
APP_ID = "11111111-2222-3333-4444-555555555555"
OBJECT_ID = "66666666-7777-8888-9999-000000000000"


@pytest.fixture(scope="session")
def rsa_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def key_file(pem: str, *, key_id: str = "key-1", client_id: str = "109876543210") -> str:
    """A service account's JSON key as Google's console downloads it."""
    return json.dumps(
        {
            "type": "service_account",
            "project_id": "acme-mail",
            "private_key_id": key_id,
            "private_key": pem,
            "client_email": "shared-inbox@acme-mail.iam.gserviceaccount.com",
            "client_id": client_id,
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": "https://oauth2.googleapis.com/token",
        }
    )


@dataclass
class OrganisationMail:
    """The fake token endpoint and the in-memory IMAP that the connections' tokens open (`imap.refuse`:
    every login refused, as Exchange refuses an app without consent or mailbox permission)."""

    fake: Any
    imap: Any


@pytest.fixture
def organisation_mail(fake: Any, memory_imap: Any, settings: Any) -> Iterator[OrganisationMail]:
    providers = dict(settings.MAIL_PROVIDERS)
    for kind in ("gmail", "microsoft"):
        providers[kind] = {
            **providers[kind],
            "IMAP_HOST": "127.0.0.1",
            "IMAP_PORT": memory_imap.port,
            "IMAP_SSL": False,
        }
    # Every tenant's token endpoint is the fake's (its path names no tenant).
    providers["microsoft"]["APP_TOKEN_URL"] = fake.token_url
    settings.MAIL_PROVIDERS = providers
    mail = OrganisationMail(fake, memory_imap)
    forget_tokens()
    yield mail
    forget_tokens()


@pytest.fixture
def google_connection(tenancy: Any, rsa_pem: str) -> OrganisationConnection:
    connection = google_key_save(company=tenancy.company, key=parse_key_file(key_file(rsa_pem)))
    OrganisationDomain.objects.create(connection=connection, domain="acme.test")
    return connection


@pytest.fixture
def microsoft_connection(tenancy: Any) -> OrganisationConnection:
    connection = microsoft_settings_save(
        company=tenancy.company,
        settings=MicrosoftSettings(TENANT, APP_ID, OBJECT_ID),
        client_secret="s3cret-value",
    )
    OrganisationDomain.objects.create(connection=connection, domain="acme.test")
    return connection


@pytest.fixture
def one_waiting(tenancy: Any, microsoft_connection: OrganisationConnection, make_channel: Any, make_inbox: Any) -> None:
    """Two channels through the Microsoft connection: orders@ waits for the administrator, sales@ works."""
    for address, waiting in (("orders@acme.test", True), ("sales@acme.test", False)):
        make_channel(
            inbox=make_inbox(workspace=tenancy.workspace, name=address),
            address=address,
            provider="microsoft",
            organisation_connection=microsoft_connection,
            status=ChannelStatus.BLOCKED if waiting else ChannelStatus.ACTIVE,
            reason_code=ReasonCode.ORGANISATION if waiting else ReasonCode.NONE,
        )
