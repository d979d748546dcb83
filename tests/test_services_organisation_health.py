"""Failures through an organisation connection are one company incident: channels wait, their owners are
asked nothing, company admins are told once what to grant again; when the grant is back every channel
resumes and backfills."""

import pytest

from channels_app.models import (
    Backfill,
    Channel,
    ChannelStatus,
    Notification,
    NotificationKind,
    OrganisationConnection,
    OrganisationStatus,
    ReasonCode,
)
from channels_app.providers.recorded import recorded_entries
from channels_app.services import organisation_health
from channels_app.services.organisation_tokens import forget_tokens
from channels_app.tasks import probe_channel

GOOGLE = recorded_entries("gmail", "organisation_token")
MICROSOFT = recorded_entries("microsoft", "organisation_token")


@pytest.fixture
def queued(monkeypatch):
    """Tasks the incident service queues, run by the test when it chooses (django-q is not running)."""
    tasks: list[tuple] = []
    monkeypatch.setattr(organisation_health, "async_task", lambda *args, **kwargs: tasks.append(args))
    monkeypatch.setattr("channels_app.services.reconnect.async_task", lambda *args, **kwargs: None)
    monkeypatch.setattr("channels_app.services.push_subscriptions.async_task", lambda *args, **kwargs: None)
    return tasks


class AnswerAfterPost(list):
    """The fake's list of posts, switching its answer once the first request was answered."""

    def __init__(self, fake, then):
        super().__init__()
        self.fake, self.then = fake, then

    def append(self, post):
        super().append(post)
        if len(self) == 2:
            self.fake.answer = self.then


def _through(connection: OrganisationConnection, *channels: Channel) -> list[Channel]:
    for channel in channels:
        channel.provider = connection.organisation_provider.provider_kind
        channel.organisation_connection = connection
        channel.save(update_fields=["provider", "organisation_connection"])
    return list(channels)


def _notified(kind: str) -> set[str]:
    return set(Notification.objects.filter(kind=kind).values_list("recipient__email", flat=True))


def test_a_withdrawn_delegation_is_one_company_incident_and_no_owner_is_asked(
    tenancy, organisation_mail, google_connection, queued, django_capture_on_commit_callbacks
):
    shared, personal = _through(google_connection, tenancy.shared_channel, tenancy.member_channel)
    organisation_mail.fake.answer = GOOGLE["unauthorized_client_no_delegation"]
    with django_capture_on_commit_callbacks(execute=True):
        results = [probe_channel(shared.pk), probe_channel(personal.pk)]
    assert all("policy_failure" in result for result in results), results
    for channel in (shared, personal):
        channel.refresh_from_db()
        assert (channel.status, channel.reason_code) == (ChannelStatus.BLOCKED, ReasonCode.ORGANISATION)
        assert "Waiting for the Google Workspace organisation connection" in channel.status_reason
    incident = Notification.objects.get(kind=NotificationKind.ORGANISATION)
    assert incident.recipient == tenancy.admin and incident.channel is None
    assert "add the client ID 109876543210 with the scope https://mail.google.com/" in incident.email_body
    assert "nobody needs to reauthorize" in incident.message
    assert "/settings/company/organisation/google/" in incident.email_body
    assert not Notification.objects.exclude(kind=NotificationKind.ORGANISATION).exists()
    google_connection.refresh_from_db()
    assert google_connection.status == OrganisationStatus.FAILING and google_connection.grant_missing == "delegation"


def test_the_grant_back_resumes_every_channel_with_its_missed_mail(
    tenancy, organisation_mail, google_connection, queued, django_capture_on_commit_callbacks
):
    shared, personal = _through(google_connection, tenancy.shared_channel, tenancy.member_channel)
    organisation_mail.fake.answer = GOOGLE["unauthorized_client_no_delegation"]
    with django_capture_on_commit_callbacks(execute=True):
        probe_channel(shared.pk)
        probe_channel(personal.pk)
    organisation_mail.fake.answer = GOOGLE["delegated_token"]
    forget_tokens()
    with django_capture_on_commit_callbacks(execute=True):
        answer = organisation_health.organisation_test(connection=google_connection, mailbox="support@acme.test")
    assert answer.works, answer.words
    assert sorted(args[1] for args in queued) == sorted([shared.pk, personal.pk])
    with django_capture_on_commit_callbacks(execute=True):
        for _, channel_id, respect_backoff in queued:
            assert "credentials work" in probe_channel(channel_id, respect_backoff)
    for channel in (shared, personal):
        channel.refresh_from_db()
        assert channel.status == ChannelStatus.ACTIVE
        assert Backfill.objects.filter(channel=channel).exists()  # the missed mail is imported as after a reconnect
    assert not Notification.objects.filter(kind=NotificationKind.ORGANISATION, resolved_at__isnull=True).exists()
    recovered = Notification.objects.get(kind=NotificationKind.RECOVERED)
    assert recovered.recipient == tenancy.admin and "works again" in recovered.message
    google_connection.refresh_from_db()
    assert google_connection.status == OrganisationStatus.WORKING and google_connection.last_worked_at


def test_a_mailbox_without_permission_waits_but_the_connection_still_works(
    tenancy, organisation_mail, microsoft_connection, queued, django_capture_on_commit_callbacks
):
    (shared,) = _through(microsoft_connection, tenancy.shared_channel)
    organisation_mail.fake.answer = MICROSOFT["app_token"]
    organisation_mail.imap.refuse = True  # Exchange: "AUTHENTICATE failed." without Full Access
    with django_capture_on_commit_callbacks(execute=True):
        probe_channel(shared.pk)
    shared.refresh_from_db()
    assert shared.reason_code == ReasonCode.ORGANISATION
    incident = Notification.objects.get(kind=NotificationKind.ORGANISATION)
    line = 'Add-MailboxPermission -Identity "support@acme.test" -User 66666666-7777-8888-9999-000000000000'
    assert line in incident.email_body
    microsoft_connection.refresh_from_db()
    assert (
        microsoft_connection.status == OrganisationStatus.UNTESTED and microsoft_connection.grant_missing == "mailbox"
    )


def test_a_test_that_opens_a_mailbox_verifies_its_domain(tenancy, organisation_mail, microsoft_connection, queued):
    organisation_mail.fake.answer = MICROSOFT["app_token"]
    answer = organisation_health.organisation_test(connection=microsoft_connection, mailbox="Billing@Fabrikam.test")
    assert answer.works and answer.words == (
        "It works: we opened billing@fabrikam.test through the organisation connection just now."
    )
    assert set(microsoft_connection.domains.values_list("domain", flat=True)) == {"acme.test", "fabrikam.test"}
    microsoft_connection.refresh_from_db()
    assert microsoft_connection.test_mailbox == "billing@fabrikam.test" and microsoft_connection.last_tested_at


def test_a_refused_secret_tries_the_previous_one_while_rotating(tenancy, organisation_mail, microsoft_connection):
    from channels_app.services.organisation_connections import MicrosoftSettings, microsoft_settings_save

    settings = MicrosoftSettings(
        microsoft_connection.tenant_id, microsoft_connection.client_id, "66666666-7777-8888-9999-000000000000"
    )
    rotated = microsoft_settings_save(company=tenancy.company, settings=settings, client_secret="new-secret")
    assert rotated.previous_secret_fingerprint and rotated.previous_secret_fingerprint != rotated.secret_fingerprint
    organisation_mail.fake.answer = MICROSOFT["aadsts7000215_wrong_secret"]
    organisation_mail.fake.posts = AnswerAfterPost(organisation_mail.fake, MICROSOFT["app_token"])
    answer = organisation_health.organisation_test(connection=rotated, mailbox="support@acme.test")
    assert answer.works
    sent = [post["client_secret"][0] for post in organisation_mail.fake.posts]
    assert sent == ["new-secret", "s3cret-value"]


def test_an_unreachable_provider_is_said_and_opens_no_incident(tenancy, organisation_mail, google_connection):
    organisation_mail.fake.answer = GOOGLE["rate_limited_429"]
    answer = organisation_health.organisation_test(connection=google_connection, mailbox="support@acme.test")
    assert not answer.works and answer.words.startswith("Google Workspace could not be reached")
    assert not Notification.objects.exists()
    assert google_connection.last_worked_at is None
