"""Organisation connections: a company's administrator grants our app access to the organisation's mailboxes
once (Google's domain-wide delegation, Microsoft's application access for IMAP), and channels open their
mailboxes through it instead of through a person's own sign-in."""

from django.db import models
from django.utils import timezone

from channels_app.models.tenancy import Company


class OrganisationProvider(models.TextChoices):
    """The two kinds of grant; each names the channel provider (`provider_kind`) its mailboxes are opened as."""

    GOOGLE = "google", "Google Workspace"
    MICROSOFT = "microsoft", "Microsoft 365"

    @property
    def provider_kind(self) -> str:
        return "gmail" if self is OrganisationProvider.GOOGLE else "microsoft"


class OrganisationStatus(models.TextChoices):
    UNTESTED = "untested", "Not tested yet"
    WORKING = "working", "Working"
    # The administrator withdrew the delegation or consent, or the key stopped working: one company incident.
    FAILING = "failing", "Needs the administrator"


class OrganisationConnection(models.Model):
    """One per company and provider.

    The secret (Google: the service account's private key; Microsoft: the client secret) is one encrypted
    blob (channels_app/crypto.py, CREDENTIALS_KEYS), as channel credentials are, and is never rendered:
    pages show its fingerprint and when it was added. Rotation keeps the previous secret until the new one
    has worked once, so a new Microsoft secret can be pasted before the old one is deleted in Entra ID.
    """

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="organisation_connections")
    provider = models.CharField(max_length=12, choices=OrganisationProvider.choices)
    # Google: from the service account's JSON key. The client id is what the Workspace administrator pastes
    # in Admin console → Security → API controls → Domain-wide delegation.
    client_email = models.CharField(max_length=255, blank=True)
    client_id = models.CharField(max_length=255, blank=True)
    # Microsoft: the tenant, the app registration's (client) id, and its service principal's object id in
    # the tenant (the Exchange PowerShell lines name it).
    tenant_id = models.CharField(max_length=100, blank=True)
    service_principal_id = models.CharField(max_length=100, blank=True)

    secret_ciphertext = models.TextField(blank=True, default="", editable=False)
    secret_fingerprint = models.CharField(max_length=100, blank=True)
    secret_added_at = models.DateTimeField(null=True, blank=True)
    previous_secret_ciphertext = models.TextField(blank=True, default="", editable=False)
    previous_secret_fingerprint = models.CharField(max_length=100, blank=True)
    previous_secret_added_at = models.DateTimeField(null=True, blank=True)

    status = models.CharField(max_length=10, choices=OrganisationStatus.choices, default=OrganisationStatus.UNTESTED)
    status_since = models.DateTimeField(default=timezone.now)
    last_worked_at = models.DateTimeField(null=True, blank=True)
    last_tested_at = models.DateTimeField(null=True, blank=True)
    # The mailbox the last Test opened (the page offers it again).
    test_mailbox = models.EmailField(blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    # The provider's own code for the last failure (unauthorized_client, AADSTS7000215, AUTHENTICATE failed).
    last_error_code = models.CharField(max_length=100, blank=True)
    # What the administrator must grant again (services/organisation_health.py words it); "" while working.
    grant_missing = models.CharField(max_length=20, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["company", "provider"], name="one_organisation_connection_per_provider")
        ]

    def __str__(self) -> str:
        return f"{self.company} — {self.get_provider_display()} organisation connection"

    @property
    def organisation_provider(self) -> OrganisationProvider:
        return OrganisationProvider(self.provider)

    @property
    def has_secret(self) -> bool:
        return bool(self.secret_ciphertext)


class OrganisationDomain(models.Model):
    """A domain whose mailboxes the connection opened: verified by the provider itself, since a Test that
    opens a mailbox of the domain succeeds only where the domain's own administrator granted access. Add
    channel offers the connection for these domains only."""

    connection = models.ForeignKey(OrganisationConnection, on_delete=models.CASCADE, related_name="domains")
    domain = models.CharField(max_length=253)
    verified_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["domain"]
        constraints = [models.UniqueConstraint(fields=["connection", "domain"], name="one_row_per_organisation_domain")]

    def __str__(self) -> str:
        return self.domain
