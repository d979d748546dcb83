import pytest
from django.core.management import call_command

from channels_app.models import (
    Channel,
    CompanyMembership,
    CompanySignIn,
    OrganisationConnection,
    Role,
    User,
    WorkspaceMembership,
)
from channels_app.permissions import settings_spaces
from channels_app.selectors import company_sign_in_for_email
from channels_app.services.mailbox import channel_mailbox
from localprovider import control


def test_seed_demo_is_idempotent_and_creates_the_three_demo_roles(db):
    call_command("seed_demo")
    call_command("seed_demo")
    assert Channel.objects.count() == 5
    assert CompanyMembership.objects.get(user__email="dana@acme.test").role == Role.ADMIN
    sam = User.objects.get(email="sam@acme.test")
    assert WorkspaceMembership.objects.get(user=sam).role == Role.MEMBER
    assert Channel.objects.filter(inbox__owner=sam).exists()
    assert User.objects.get(email="staff@acme.test").is_staff
    assert [s.kind for s in settings_spaces(sam)] == ["workspace", "personal"]


def test_the_demo_billing_mailbox_is_a_microsoft_shared_mailbox_opened_through_dana(db):
    call_command("seed_demo")
    billing = Channel.objects.get(address="shared-billing@acme.test")
    assert (billing.provider, billing.delegate_address) == ("microsoft", "dana@acme.test")
    assert billing.inbox.workspace.name == "Support"


@pytest.mark.local_provider
def test_with_local_mail_running_the_shared_mailbox_opens_with_danas_token_and_wes_may_take_over(db, local_provider):
    call_command("seed_demo")
    billing = Channel.objects.get(address="shared-billing@acme.test")
    with channel_mailbox(billing) as client:
        assert client.select_folder("INBOX", readonly=True)[b"EXISTS"] >= 1
    assert control.mailbox_state(local_provider, billing.address).delegates == ("dana@acme.test", "wes@acme.test")


def test_seed_demo_gives_initech_company_sign_in_and_ivy_no_password(db):
    call_command("seed_demo")
    call_command("seed_demo")
    sign_in = CompanySignIn.objects.get(company__name="Initech")
    assert sign_in.enabled and list(sign_in.domains.values_list("domain", flat=True)) == ["initech.test"]
    ivy = User.objects.get(email="ivy@initech.test")
    assert not ivy.has_usable_password()
    assert CompanyMembership.objects.get(user=ivy).role == Role.ADMIN
    assert company_sign_in_for_email("IVY@initech.test") == sign_in


@pytest.mark.local_provider
def test_with_local_mail_running_acme_has_one_organisation_connection_opening_orders(db, local_provider):
    call_command("seed_demo")
    call_command("seed_demo")
    connection = OrganisationConnection.objects.get(company__name="Acme")
    assert connection.provider == "microsoft" and connection.last_worked_at is not None
    orders = Channel.objects.get(address="orders@acme.test")
    assert orders.organisation_connection == connection and not orders.delegate_address
    with channel_mailbox(orders) as client:
        assert client.select_folder("INBOX", readonly=True)[b"EXISTS"] >= 1
