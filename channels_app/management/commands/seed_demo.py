"""Create the demo company idempotently: running it twice changes nothing.

With the local provider running, the demo channels are connected for real: each
gets a mailbox at Local mail, a few messages, and tokens from a real consent.
Local mail stands in for Google and Microsoft here: Sam's inbox is a Gmail channel
(a mailbox of the `google` persona), Support a Microsoft 365 one, Sales Local mail's own.
Billing is a Microsoft 365 shared mailbox with no sign-in of its own, opened through Dana,
its delegate with Full Access (Wes has Full Access too, so he can take over).
Orders is a shared mailbox opened through Acme's organisation connection: Local mail's Microsoft tenant
acme.test consented to an app of Acme's, registered its service principal and gave it Full Access to Orders,
so no person's sign-in is involved at all.
"""

from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction
from django.urls import reverse

from channels_app.demo import (
    DANA,
    DEMO_PASSWORD,
    IVY,
    MAILBOX_PASSWORD,
    PEOPLE,
    SAM,
    SSO_CLIENT_ID,
    SSO_CLIENT_SECRET,
    SSO_COMPANY,
    SSO_DOMAIN,
    WES,
    local_consent,
)
from channels_app.models import (
    Channel,
    Company,
    CompanyMembership,
    CompanySignIn,
    Inbox,
    InboxKind,
    Role,
    User,
    Workspace,
    WorkspaceMembership,
)
from channels_app.services.company_sign_in import company_sign_in_save
from channels_app.services.credentials import channel_store_credentials
from channels_app.services.organisation_connections import MicrosoftSettings, microsoft_settings_save
from channels_app.services.organisation_health import organisation_test

if TYPE_CHECKING:
    from localprovider.control import Instance
    from localprovider.personas import Persona

# address, inbox, workspace, owner, provider
DEMO_CHANNELS = (
    ("support@acme.test", "Support", "Support", None, "microsoft"),
    ("sales@acme.test", "Sales", "Sales", None, "local"),
    ("sam@acme.test", "Sam's inbox", None, SAM.email, "gmail"),
    ("shared-billing@acme.test", "Billing", "Support", None, "microsoft"),
    ("orders@acme.test", "Orders", "Sales", None, "microsoft"),
)
# Shared mailboxes and their delegates with Full Access; the first one's sign-in opens it.
SHARED_MAILBOXES = {"shared-billing@acme.test": (DANA.email, WES.email)}
# Opened through Acme's Microsoft 365 organisation connection (no consent of a person's).
ORGANISATION_MAILBOXES = ("orders@acme.test",)
# The Local mail persona that answers like each provider.
PERSONAS: dict[str, "Persona"] = {"gmail": "google", "microsoft": "microsoft", "local": "plain"}


class Command(BaseCommand):
    help = "Create the demo company Acme with its people, workspaces, inboxes and channels."

    def handle(self, *args: Any, **options: Any) -> None:
        self._seed_company()
        if settings.LOCAL_PROVIDER_ENABLED:
            self._seed_sign_in_company()
            self._connect_local_mailboxes()
        self.stdout.write(self.style.SUCCESS("Demo data is in place (company Acme)."))

    @transaction.atomic
    def _seed_company(self) -> None:
        company, _ = Company.objects.get_or_create(name="Acme")
        workspaces = {
            name: Workspace.objects.get_or_create(company=company, name=name)[0] for name in ("Support", "Sales")
        }
        users: dict[str, User] = {}
        for person in PEOPLE:
            user, created = User.objects.get_or_create(
                email=person.email,
                defaults={
                    "username": person.email,
                    "first_name": person.first_name,
                    "is_staff": person.is_staff,
                    "is_superuser": person.is_staff,
                },
            )
            if created:
                user.set_password(DEMO_PASSWORD)
                user.save()
            users[person.email] = user

        CompanyMembership.objects.get_or_create(user=users[DANA.email], company=company, defaults={"role": Role.ADMIN})
        for person in (SAM, WES):
            CompanyMembership.objects.get_or_create(user=users[person.email], company=company)
        WorkspaceMembership.objects.get_or_create(user=users[SAM.email], workspace=workspaces["Support"])
        WorkspaceMembership.objects.get_or_create(
            user=users[WES.email], workspace=workspaces["Sales"], defaults={"role": Role.ADMIN}
        )
        for address, name, workspace, owner, provider in DEMO_CHANNELS:
            inbox, _ = Inbox.objects.get_or_create(
                company=company,
                name=name,
                defaults={
                    "kind": InboxKind.INDIVIDUAL if owner else InboxKind.SHARED,
                    "workspace": workspaces[workspace] if workspace else None,
                    "owner": users[owner] if owner else None,
                },
            )
            delegate = SHARED_MAILBOXES.get(address, ("",))[0]
            Channel.objects.get_or_create(
                inbox=inbox, defaults={"address": address, "provider": provider, "delegate_address": delegate}
            )

    @transaction.atomic
    def _seed_sign_in_company(self) -> None:
        """Initech: its domain signs in through Local mail as its identity provider (registered with Local
        mail in _connect_local_mailboxes); Ivy, its admin, has no password here."""
        from localprovider import control

        company, _ = Company.objects.get_or_create(name=SSO_COMPANY)
        ivy, created = User.objects.get_or_create(
            email=IVY.email, defaults={"username": IVY.email, "first_name": IVY.first_name}
        )
        if created:
            ivy.set_unusable_password()
            ivy.save()
        CompanyMembership.objects.get_or_create(user=ivy, company=company, defaults={"role": Role.ADMIN})
        if not CompanySignIn.objects.filter(company=company).exists():
            sign_in = company_sign_in_save(
                company=company,
                issuer_url=control.instance_from_env().base_url,
                client_id=SSO_CLIENT_ID,
                client_secret=SSO_CLIENT_SECRET,
                domains=[SSO_DOMAIN],
            )
            # On without a discovery check: Local mail may start only later (run_demo starts it first).
            sign_in.enabled = True
            sign_in.save(update_fields=["enabled"])

    def _connect_local_mailboxes(self) -> None:
        # Imported here: localprovider is a development tool, absent from a production image's needs.
        from localprovider import control

        instance = control.instance_from_env()
        if not control.is_running(instance):
            self.stdout.write("Local mail is not running: demo channels stay without credentials.")
            return
        sign_in = CompanySignIn.objects.filter(company__name=SSO_COMPANY).first()
        if sign_in is not None:
            callback = reverse("openid_connect_callback", kwargs={"provider_id": sign_in.provider_id})
            # Any port of the demo's runserver (RFC 8252 loopback redirects).
            redirect_uris = [f"http://{host}{callback}" for host in ("127.0.0.1", "localhost")]
            control.register_client(instance, SSO_CLIENT_ID, SSO_CLIENT_SECRET, redirect_uris)
            control.create_mailbox(instance, IVY.email, MAILBOX_PASSWORD)
        self._seed_organisation_connection(instance)
        pending = Channel.objects.filter(provider__in=PERSONAS, credentials_ciphertext="")
        for channel in pending.exclude(address__in=ORGANISATION_MAILBOXES):
            control.create_mailbox(instance, channel.address, MAILBOX_PASSWORD, persona=PERSONAS[channel.provider])
            control.append_messages(
                instance,
                channel.address,
                [control.make_message(recipient=channel.address, subject=f"Welcome to {channel.address}")],
            )
            for delegate in SHARED_MAILBOXES.get(channel.address, ()):
                # The delegates' own mailboxes: their sign-in (and so their token) opens the shared one.
                control.create_mailbox(instance, delegate, MAILBOX_PASSWORD, persona=PERSONAS[channel.provider])
                control.set_delegate(instance, channel.address, delegate)
            signs_in = channel.delegate_address or channel.address
            credentials = local_consent(signs_in, MAILBOX_PASSWORD, channel.provider)
            channel_store_credentials(channel=channel, credentials=credentials)
            through = f" through delegate {channel.delegate_address}" if channel.delegate_address else ""
            self.stdout.write(f"Connected {channel.address} ({channel.get_provider_display()}){through} to Local mail.")

    def _seed_organisation_connection(self, instance: "Instance") -> None:
        """Acme's Microsoft 365 organisation connection, set up at Local mail as a tenant's administrators would
        (consent, New-ServicePrincipal, Add-MailboxPermission), and its channel Orders."""
        from localprovider import control

        company = Company.objects.get(name="Acme")
        orders = Channel.objects.filter(inbox__company=company, address__in=ORGANISATION_MAILBOXES)
        if not orders.filter(organisation_connection=None).exists():
            return
        app = control.register_app(instance, "acme.test")
        control.grant_admin_consent(instance, app["app_id"])
        control.new_service_principal(instance, app["app_id"], app["service_principal_object_id"])
        connection = microsoft_settings_save(
            company=company,
            settings=MicrosoftSettings(app["tenant_id"], app["app_id"], app["service_principal_object_id"]),
            client_secret=app["client_secret"],
        )
        for channel in orders:
            control.create_shared_mailbox(instance, channel.address)
            control.append_messages(
                instance,
                channel.address,
                [control.make_message(recipient=channel.address, subject=f"Welcome to {channel.address}")],
            )
            control.add_mailbox_permission(instance, channel.address, app["app_id"])
            # The Test a company admin would run: it also verifies acme.test for Add channel.
            answer = organisation_test(connection=connection, mailbox=channel.address)
            Channel.objects.filter(pk=channel.pk).update(organisation_connection=connection)
            self.stdout.write(f"Connected {channel.address} through the organisation connection: {answer.words}")
