"""Organisation connections against the real Local mail: Google's domain-wide delegation and Microsoft's
application access for IMAP set up as an administrator would, a Microsoft 365 shared mailbox with no
delegate among the channels, the grant withdrawn (one company incident, no owner asked) and restored (every
channel back with the mail it missed)."""

import json
import uuid
from collections.abc import Callable

import pytest

from channels_app.models import (
    Channel,
    ChannelStatus,
    Message,
    Notification,
    NotificationKind,
    OrganisationStatus,
    ReasonCode,
)
from channels_app.providers.gmail.delegation import SCOPE, parse_key_file
from channels_app.services import organisation_health
from channels_app.services.organisation_channels import NotCovered, organisation_channel_create
from channels_app.services.organisation_connections import (
    MicrosoftSettings,
    google_key_save,
    microsoft_settings_save,
)
from channels_app.services.organisation_tokens import forget_tokens
from channels_app.tasks import backfill_channel, probe_channel, sync_channel
from localprovider import control
from tests.provider_fixtures import Mailbox

pytestmark = pytest.mark.local_provider


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch) -> list[tuple]:
    """The waiting channels' checks and the backfills, run by the test (django-q is not running)."""
    tasks: list[tuple] = []
    monkeypatch.setattr(organisation_health, "async_task", lambda *args, **kwargs: tasks.append(args))
    monkeypatch.setattr("channels_app.services.reconnect.async_task", lambda *args, **kwargs: tasks.append(args))
    monkeypatch.setattr("channels_app.services.push_subscriptions.async_task", lambda *args, **kwargs: None)
    forget_tokens()
    yield tasks
    forget_tokens()


def _run(queued: list[tuple], capture) -> None:
    """Run what was queued (and what that queues) as the task cluster would."""
    while queued:
        func, *args = queued.pop(0)
        with capture(execute=True):
            {
                "channels_app.tasks.probe_channel": probe_channel,
                "channels_app.tasks.backfill_channel": backfill_channel,
            }[func](*args)


def _synced_channels(tenancy, connection, addresses: list[str], capture) -> list[Channel]:
    """Channels through the connection, added by the company admin and synced once."""
    channels = [
        organisation_channel_create(
            actor=tenancy.admin,
            workspace=tenancy.workspace,
            connection=connection,
            address=address,
            inbox_name="",
            import_days=0,
        )
        for address in addresses
    ]
    for channel in channels:
        with capture(execute=True):
            assert "ok" in sync_channel(channel.pk, respect_backoff=False)
    return channels


def _mail(local_provider: control.Instance, address: str, subject: str) -> None:
    control.append_messages(local_provider, address, [control.make_message(recipient=address, subject=subject)])


def test_google_delegation_withdrawn_and_restored(
    tenancy,
    local_provider: control.Instance,
    make_mailbox: Callable[..., Mailbox],
    queued,
    django_capture_on_commit_callbacks,
):
    account = control.create_service_account(local_provider, f"inbox-{uuid.uuid4().hex[:6]}")
    connection = google_key_save(company=tenancy.company, key=parse_key_file(json.dumps(account)))
    boxes = [make_mailbox(name, persona="google") for name in ("support", "sales")]
    for box in boxes:
        _mail(local_provider, box.address, "Before")
    # Before the administrator's delegation, the Test says what to grant.
    refused = organisation_health.organisation_test(connection=connection, mailbox=boxes[0].address)
    assert not refused.works and account["client_id"] in refused.words
    control.grant_delegation(local_provider, "acme.test", account["client_id"], SCOPE)
    assert organisation_health.organisation_test(connection=connection, mailbox=boxes[0].address).works
    channels = _synced_channels(tenancy, connection, [box.address for box in boxes], django_capture_on_commit_callbacks)
    for channel in channels:
        assert Message.objects.filter(channel=channel).count() == 1
    queued.clear()

    control.withdraw_delegation(local_provider, "acme.test", account["client_id"])
    control.expire_client_tokens(local_provider, account["client_id"])
    for channel in channels:
        with django_capture_on_commit_callbacks(execute=True):
            assert "policy_failure" in probe_channel(channel.pk, respect_backoff=False)
        channel.refresh_from_db()
        assert (channel.status, channel.reason_code) == (ChannelStatus.BLOCKED, ReasonCode.ORGANISATION)
    assert list(Notification.objects.values_list("kind", "recipient__email")) == [
        (NotificationKind.ORGANISATION, tenancy.admin.email)
    ]
    for box in boxes:
        _mail(local_provider, box.address, "While withdrawn")

    control.grant_delegation(local_provider, "acme.test", account["client_id"], SCOPE)
    with django_capture_on_commit_callbacks(execute=True):
        assert organisation_health.organisation_test(connection=connection, mailbox=boxes[1].address).works
    _run(queued, django_capture_on_commit_callbacks)
    for channel in channels:
        channel.refresh_from_db()
        assert channel.status == ChannelStatus.ACTIVE
        assert Message.objects.filter(channel=channel).count() == 2  # the missed mail, imported
    assert not Notification.objects.filter(kind=NotificationKind.ORGANISATION, resolved_at=None).exists()
    assert not Notification.objects.exclude(recipient=tenancy.admin).exists()


def test_microsoft_app_access_opens_a_shared_mailbox_with_no_delegate(
    tenancy,
    local_provider: control.Instance,
    queued,
    django_capture_on_commit_callbacks,
):
    app = control.register_app(local_provider, "acme.test")
    connection = microsoft_settings_save(
        company=tenancy.company,
        settings=MicrosoftSettings(app["tenant_id"], app["app_id"], app["service_principal_object_id"]),
        client_secret=app["client_secret"],
    )
    shared = control.create_shared_mailbox(local_provider, f"shared-{uuid.uuid4().hex[:8]}@acme.test")
    other = control.create_shared_mailbox(local_provider, f"other-{uuid.uuid4().hex[:8]}@acme.test")
    _mail(local_provider, shared, "Before")
    assert not organisation_health.organisation_test(connection=connection, mailbox=shared).works
    control.grant_admin_consent(local_provider, app["app_id"])
    control.new_service_principal(local_provider, app["app_id"], app["service_principal_object_id"])
    control.add_mailbox_permission(local_provider, shared, app["app_id"])
    assert organisation_health.organisation_test(connection=connection, mailbox=shared).works

    with pytest.raises(NotCovered) as refused:
        organisation_channel_create(
            actor=tenancy.admin,
            workspace=tenancy.workspace,
            connection=connection,
            address=other,
            inbox_name="",
            import_days=0,
        )
    assert f'Add-MailboxPermission -Identity "{other}" -User {app["service_principal_object_id"]}' in str(refused.value)

    (channel,) = _synced_channels(tenancy, connection, [shared], django_capture_on_commit_callbacks)
    assert Message.objects.filter(channel=channel).count() == 1 and not channel.delegate_address
    queued.clear()

    control.remove_mailbox_permission(local_provider, shared, app["app_id"])
    with django_capture_on_commit_callbacks(execute=True):
        assert "policy_failure" in probe_channel(channel.pk, respect_backoff=False)
    channel.refresh_from_db()
    assert channel.reason_code == ReasonCode.ORGANISATION
    incident = Notification.objects.get(kind=NotificationKind.ORGANISATION)
    assert f'Add-MailboxPermission -Identity "{shared}"' in incident.email_body
    _mail(local_provider, shared, "While refused")

    control.add_mailbox_permission(local_provider, shared, app["app_id"])
    with django_capture_on_commit_callbacks(execute=True):
        assert organisation_health.organisation_test(connection=connection, mailbox=shared).works
    _run(queued, django_capture_on_commit_callbacks)
    channel.refresh_from_db()
    assert channel.status == ChannelStatus.ACTIVE and Message.objects.filter(channel=channel).count() == 2
    assert Channel.objects.get(pk=channel.pk).organisation_connection == connection


def test_microsoft_consent_withdrawn_is_told_from_one_mailbox_refused(
    tenancy,
    local_provider: control.Instance,
    queued,
    django_capture_on_commit_callbacks,
):
    """Entra still mints the app's token without consent (without its role) and Exchange refuses every
    mailbox alike: the first channel refused opens another that worked, and both refused is the consent."""
    app = control.register_app(local_provider, "acme.test")
    connection = microsoft_settings_save(
        company=tenancy.company,
        settings=MicrosoftSettings(app["tenant_id"], app["app_id"], app["service_principal_object_id"]),
        client_secret=app["client_secret"],
    )
    control.grant_admin_consent(local_provider, app["app_id"])
    control.new_service_principal(local_provider, app["app_id"], app["service_principal_object_id"])
    boxes = [control.create_shared_mailbox(local_provider, f"{n}-{uuid.uuid4().hex[:8]}@acme.test") for n in "ab"]
    for box in boxes:
        control.add_mailbox_permission(local_provider, box, app["app_id"])
    assert organisation_health.organisation_test(connection=connection, mailbox=boxes[0]).works
    channels = _synced_channels(tenancy, connection, boxes, django_capture_on_commit_callbacks)

    # One mailbox's permission removed: only it waits, and the connection still works.
    control.remove_mailbox_permission(local_provider, boxes[0], app["app_id"])
    with django_capture_on_commit_callbacks(execute=True):
        assert "policy_failure" in probe_channel(channels[0].pk, respect_backoff=False)
    connection.refresh_from_db()
    assert (connection.status, connection.grant_missing) == (OrganisationStatus.WORKING, "mailbox")
    control.add_mailbox_permission(local_provider, boxes[0], app["app_id"])
    with django_capture_on_commit_callbacks(execute=True):
        assert organisation_health.organisation_test(connection=connection, mailbox=boxes[0]).works
    _run(queued, django_capture_on_commit_callbacks)
    Notification.objects.all().delete()

    # The consent withdrawn: the token is still minted, every mailbox refuses it.
    control.withdraw_admin_consent(local_provider, app["app_id"])
    control.expire_client_tokens(local_provider, app["app_id"])
    forget_tokens()
    for channel in channels:
        with django_capture_on_commit_callbacks(execute=True):
            assert "policy_failure" in probe_channel(channel.pk, respect_backoff=False)
        channel.refresh_from_db()
        assert channel.reason_code == ReasonCode.ORGANISATION
    connection.refresh_from_db()
    assert (connection.status, connection.grant_missing) == (OrganisationStatus.FAILING, "consent")
    incident = Notification.objects.get(kind=NotificationKind.ORGANISATION)
    assert "/adminconsent?client_id=" in incident.email_body and "New-ServicePrincipal" in incident.email_body

    control.grant_admin_consent(local_provider, app["app_id"])
    with django_capture_on_commit_callbacks(execute=True):
        assert organisation_health.organisation_test(connection=connection, mailbox=boxes[1]).works
    _run(queued, django_capture_on_commit_callbacks)
    for channel in channels:
        channel.refresh_from_db()
        assert channel.status == ChannelStatus.ACTIVE
