"""Keys and secrets of organisation connections: stored encrypted, rotated with the previous one kept,
re-encrypted by rotate_credentials, and a connection with channels never removed."""

import pytest
from django.core.management import call_command

from channels_app import crypto
from channels_app.models import OrganisationConnection, OrganisationStatus
from channels_app.providers.gmail.delegation import parse_key_file
from channels_app.services.organisation_connections import (
    ConnectionInUse,
    google_key_save,
    organisation_connection_remove,
    secret_fingerprint,
)
from tests.organisation_fixtures import key_file


def test_another_service_accounts_key_starts_over(tenancy, rsa_pem, google_connection):
    OrganisationConnection.objects.filter(pk=google_connection.pk).update(status=OrganisationStatus.WORKING)
    other = google_key_save(
        company=tenancy.company, key=parse_key_file(key_file(rsa_pem, key_id="k9", client_id="555"))
    )
    assert other.pk == google_connection.pk and other.client_id == "555"
    assert other.status == OrganisationStatus.UNTESTED and not other.previous_secret_ciphertext


def test_the_same_key_uploaded_twice_is_not_its_own_previous(tenancy, rsa_pem, google_connection):
    again = google_key_save(company=tenancy.company, key=parse_key_file(key_file(rsa_pem)))
    assert again.secret_fingerprint == "key-1" and not again.previous_secret_fingerprint


def test_a_client_secret_is_fingerprinted_without_showing_it():
    fingerprint = secret_fingerprint({"client_secret": "s3cret-value"})
    assert fingerprint.startswith("sha256:") and "s3cret" not in fingerprint


def test_rotate_credentials_re_encrypts_both_keys(settings, tenancy, rsa_pem, google_connection):
    old, new = crypto.generate_key(), crypto.generate_key()
    settings.CREDENTIALS_KEYS = [old]
    crypto.reset_keys()
    google_key_save(company=tenancy.company, key=parse_key_file(key_file(rsa_pem, key_id="key-2")))
    google_key_save(company=tenancy.company, key=parse_key_file(key_file(rsa_pem, key_id="key-3")))
    settings.CREDENTIALS_KEYS = [new, old]
    crypto.reset_keys()
    call_command("rotate_credentials")
    settings.CREDENTIALS_KEYS = [new]
    crypto.reset_keys()
    try:
        connection = OrganisationConnection.objects.get(pk=google_connection.pk)
        assert crypto.decrypt_json(connection.secret_ciphertext)["private_key_id"] == "key-3"
        assert crypto.decrypt_json(connection.previous_secret_ciphertext)["private_key_id"] == "key-2"
    finally:
        crypto.reset_keys()


def test_a_connection_channels_go_through_is_not_removed(tenancy, google_connection):
    tenancy.shared_channel.organisation_connection = google_connection
    tenancy.shared_channel.save(update_fields=["organisation_connection"])
    with pytest.raises(ConnectionInUse, match="1 channel open"):
        organisation_connection_remove(connection=google_connection)


def test_a_company_leaves_with_its_connection_and_channels(tenancy, google_connection):
    tenancy.shared_channel.organisation_connection = google_connection
    tenancy.shared_channel.save(update_fields=["organisation_connection"])
    tenancy.company.delete()
    assert not OrganisationConnection.objects.exists()
