"""The Organisation connection pages: company admins only (members and other companies' admins see nothing
of it), generated instructions with this company's ids, the key never shown back, Test, rotate, remove."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from channels_app import crypto
from channels_app.models import OrganisationConnection, OrganisationProvider, OrganisationStatus
from channels_app.providers.recorded import recorded_entries
from tests.organisation_fixtures import APP_ID, OBJECT_ID, TENANT, key_file


def _url(provider: str, action: str = "") -> str:
    name = f"organisation_connection_{action}" if action else "organisation_connection"
    return reverse(name, args=[provider])


@pytest.mark.parametrize("provider", ["google", "microsoft"])
def test_only_company_admins_open_the_page(tenancy, provider):
    assert tenancy.client_for(tenancy.admin).get(_url(provider)).status_code == 200
    assert tenancy.client_for(tenancy.member).get(_url(provider)).status_code == 404
    assert tenancy.client_for(tenancy.admin).get(_url("yahoo")).status_code == 404


def test_an_admin_of_another_company_sees_only_their_own(tenancy, google_connection):
    page = tenancy.client_for(tenancy.outsider).get(_url("google"))
    assert page.status_code == 200 and google_connection.client_id not in page.content.decode()
    for action in ("test", "remove", "forget_previous"):
        assert tenancy.client_for(tenancy.outsider).post(_url("google", action)).status_code == 404
    assert OrganisationConnection.objects.filter(pk=google_connection.pk).exists()


def test_members_cannot_test_or_remove(tenancy, google_connection):
    client = tenancy.client_for(tenancy.member)
    assert client.post(_url("google", "test"), {"mailbox": "support@acme.test"}).status_code == 404
    assert client.post(_url("google", "remove")).status_code == 404


def test_the_admin_uploads_a_key_that_is_never_shown_back(tenancy, rsa_pem):
    client = tenancy.client_for(tenancy.admin)
    upload = SimpleUploadedFile("key.json", key_file(rsa_pem).encode(), content_type="application/json")
    response = client.post(_url("google"), {"key_file": upload})
    assert response.status_code == 302
    connection = OrganisationConnection.objects.get(company=tenancy.company, provider=OrganisationProvider.GOOGLE)
    assert crypto.decrypt_json(connection.secret_ciphertext)["private_key"] == rsa_pem
    page = client.get(_url("google")).content.decode()
    assert "PRIVATE KEY" not in page and connection.secret_ciphertext not in page
    # The instructions name this company's service account and the scope to paste in the Admin console.
    assert "Client ID: 109876543210" in page and "https://mail.google.com/" in page and "key-1" in page


def test_a_file_that_is_no_key_is_refused_in_words(tenancy):
    upload = SimpleUploadedFile("key.json", b'{"type": "authorized_user"}', content_type="application/json")
    response = tenancy.client_for(tenancy.admin).post(_url("google"), {"key_file": upload})
    assert response.status_code == 400 and "not a service account key" in response.content.decode()
    assert not OrganisationConnection.objects.exists()


def test_a_new_upload_rotates_and_the_previous_key_can_be_forgotten(tenancy, rsa_pem, google_connection):
    client = tenancy.client_for(tenancy.admin)
    upload = SimpleUploadedFile("key.json", key_file(rsa_pem, key_id="key-2").encode())
    client.post(_url("google"), {"key_file": upload})
    google_connection.refresh_from_db()
    assert (google_connection.secret_fingerprint, google_connection.previous_secret_fingerprint) == ("key-2", "key-1")
    client.post(_url("google", "forget_previous"))
    google_connection.refresh_from_db()
    assert not google_connection.previous_secret_ciphertext and not google_connection.previous_secret_fingerprint


def test_microsofts_page_fills_in_the_powershell_lines_and_keeps_the_secret(tenancy):
    client = tenancy.client_for(tenancy.admin)
    fields = {"tenant_id": TENANT, "client_id": APP_ID, "service_principal_id": OBJECT_ID}
    assert client.post(_url("microsoft"), {**fields, "client_secret": ""}).status_code == 400  # a secret is needed
    assert client.post(_url("microsoft"), {**fields, "client_secret": "s3cret-value"}).status_code == 302
    assert client.post(_url("microsoft"), {**fields, "client_secret": ""}).status_code == 302  # kept
    connection = OrganisationConnection.objects.get(provider=OrganisationProvider.MICROSOFT)
    assert crypto.decrypt_json(connection.secret_ciphertext) == {"client_secret": "s3cret-value"}
    page = client.get(_url("microsoft")).content.decode()
    assert "s3cret-value" not in page
    assert f"New-ServicePrincipal -AppId {APP_ID} -ObjectId {OBJECT_ID}" in page
    assert f"https://login.microsoftonline.com/{TENANT}/adminconsent?client_id={APP_ID}" in page
    assert "RBAC for Applications" in page


def test_the_test_button_says_the_outcome_and_records_when_it_worked(tenancy, organisation_mail, google_connection):
    organisation_mail.fake.answer = recorded_entries("gmail", "organisation_token")["delegated_token"]
    client = tenancy.client_for(tenancy.admin)
    response = client.post(_url("google", "test"), {"mailbox": "support@acme.test"}, follow=True)
    assert "It works: we opened support@acme.test" in response.content.decode()
    google_connection.refresh_from_db()
    assert google_connection.status == OrganisationStatus.WORKING and google_connection.last_worked_at


def test_a_refused_test_says_what_to_grant(tenancy, organisation_mail, google_connection):
    organisation_mail.fake.answer = recorded_entries("gmail", "organisation_token")["unauthorized_client_no_delegation"]
    response = tenancy.client_for(tenancy.admin).post(
        _url("google", "test"), {"mailbox": "support@acme.test"}, follow=True
    )
    page = response.content.decode()
    assert "could not be opened" in page and "Domain-wide delegation" in page
    google_connection.refresh_from_db()
    assert google_connection.status == OrganisationStatus.FAILING


def test_a_connection_with_channels_is_not_removed(tenancy, google_connection):
    tenancy.shared_channel.organisation_connection = google_connection
    tenancy.shared_channel.save(update_fields=["organisation_connection"])
    client = tenancy.client_for(tenancy.admin)
    response = client.post(_url("google", "remove"), follow=True)
    assert "open their mailboxes through this connection" in response.content.decode()
    tenancy.shared_channel.organisation_connection = None
    tenancy.shared_channel.save(update_fields=["organisation_connection"])
    client.post(_url("google", "remove"))
    assert not OrganisationConnection.objects.exists()


def test_company_settings_link_to_both_pages(tenancy):
    page = tenancy.client_for(tenancy.admin).get(reverse("company_channels")).content.decode()
    assert _url("google") in page and _url("microsoft") in page


def test_a_working_connection_whose_mailboxes_are_refused_does_not_say_working(
    tenancy, microsoft_connection, one_waiting
):
    """Microsoft issues an app token without consent too (the role is missing, IMAP refuses), so the token
    request keeps the connection Working while every channel through it waits: the status says so instead."""
    OrganisationConnection.objects.filter(pk=microsoft_connection.pk).update(status=OrganisationStatus.WORKING)
    page = tenancy.client_for(tenancy.admin).get(_url("microsoft")).content.decode()
    assert "Refused for 1 of 2 mailboxes" in page and ">Working<" not in page
