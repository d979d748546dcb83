"""A company's own identity provider: people of its email domains sign in there (OpenID Connect)."""

from django.db import models

from channels_app.models.tenancy import Company


class CompanySignIn(models.Model):
    """One per company. allauth reads it as an `openid_connect` app (channels_app/auth_adapter.py), so
    the client secret stays encrypted here instead of in plain text in allauth's SocialApp table."""

    company = models.OneToOneField(Company, on_delete=models.CASCADE, related_name="sign_in")
    enabled = models.BooleanField(default=False)
    # The issuer, as the identity provider names itself: its discovery document is at
    # <issuer>/.well-known/openid-configuration (OpenID Connect Discovery 1.0, section 4).
    issuer_url = models.URLField(max_length=500)
    client_id = models.CharField(max_length=255)
    # {"client_secret": ...} encrypted with channels_app/crypto.py (CREDENTIALS_KEYS), like channel tokens.
    client_secret_ciphertext = models.TextField(blank=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "company sign-in"

    def __str__(self) -> str:
        return f"{self.company} sign-in ({'on' if self.enabled else 'off'})"

    @property
    def provider_id(self) -> str:
        """The allauth provider id: in the callback URL and on each SocialAccount it links."""
        return f"company-{self.company_id}"


class CompanySignInDomain(models.Model):
    """An email domain a company owns: unique, so one domain's people are sent to one identity provider."""

    sign_in = models.ForeignKey(CompanySignIn, on_delete=models.CASCADE, related_name="domains")
    domain = models.CharField(max_length=253, unique=True)

    class Meta:
        ordering = ["domain"]

    def __str__(self) -> str:
        return self.domain
