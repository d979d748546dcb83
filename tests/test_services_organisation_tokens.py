"""Tokens through the connection are minted once and kept in memory until shortly before they expire; a
login refused with a fresh token is the organisation's answer, worded as what to grant again."""

from datetime import timedelta

import pytest
from django.utils import timezone

from channels_app.providers import AuthFailure
from channels_app.providers.organisation import GrantMissing, OrganisationGrantFailure
from channels_app.providers.recorded import recorded_entries
from channels_app.services.organisation_tokens import organisation_token, with_organisation_token

GOOGLE = recorded_entries("gmail", "organisation_token")
MICROSOFT = recorded_entries("microsoft", "organisation_token")


def test_a_token_is_reused_until_it_nears_expiry(organisation_mail, google_connection):
    organisation_mail.fake.answer = GOOGLE["delegated_token"]
    first, minted = organisation_token(google_connection, "support@acme.test")
    again, minted_again = organisation_token(google_connection, "support@acme.test")
    assert minted and not minted_again and again == first and len(organisation_mail.fake.posts) == 1
    later = timezone.now() + timedelta(seconds=3599)
    _, minted_late = organisation_token(google_connection, "support@acme.test", now=later)
    assert minted_late and len(organisation_mail.fake.posts) == 2


def test_google_mints_one_token_per_mailbox_microsoft_one_for_the_app(
    organisation_mail, google_connection, microsoft_connection
):
    organisation_mail.fake.answer = GOOGLE["delegated_token"]
    organisation_token(google_connection, "a@acme.test")
    organisation_token(google_connection, "b@acme.test")
    assert len(organisation_mail.fake.posts) == 2
    organisation_mail.fake.answer = MICROSOFT["app_token"]
    organisation_token(microsoft_connection, "a@acme.test")
    organisation_token(microsoft_connection, "shared@acme.test")
    assert len(organisation_mail.fake.posts) == 3


def test_a_refused_cached_token_gets_one_fresh_one(organisation_mail, microsoft_connection):
    organisation_mail.fake.answer = MICROSOFT["app_token"]
    organisation_token(microsoft_connection, "a@acme.test")
    calls = []

    def login(credentials):
        calls.append(credentials)
        if len(calls) == 1:
            raise AuthFailure("stale")
        return "opened"

    assert with_organisation_token(microsoft_connection, "a@acme.test", login) == "opened"
    assert len(organisation_mail.fake.posts) == 2


def test_a_refused_fresh_token_says_what_to_grant(organisation_mail, microsoft_connection):
    organisation_mail.fake.answer = MICROSOFT["app_token"]

    def refuse(credentials):
        raise AuthFailure("refused", code="AUTHENTICATE failed")

    with pytest.raises(OrganisationGrantFailure) as raised:
        with_organisation_token(microsoft_connection, "shared@acme.test", refuse)
    assert raised.value.grant == GrantMissing.MAILBOX and raised.value.code == "AUTHENTICATE failed"
    assert 'Add-MailboxPermission -Identity "shared@acme.test"' in raised.value.admin_action
