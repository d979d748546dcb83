"""The Organisation connection page's forms: Google's key upload, Microsoft's ids and secret, the Test."""

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from channels_app.forms import SpaceForm
from channels_app.models import OrganisationConnection
from channels_app.providers.gmail.delegation import KeyFileProblem, ServiceAccountKey, parse_key_file
from channels_app.providers.microsoft.app_access import GUID_PATTERN, TENANT_PATTERN

# A service account's JSON key is about 2.3 KB; anything much larger is not one.
KEY_FILE_MAX_BYTES = 20_000


class GoogleKeyForm(forms.Form):
    key_file = forms.FileField(
        label="Service account key (JSON)",
        help_text="Google Cloud console → IAM & Admin → Service accounts → your account → Keys → Add key → JSON. "
        "It is stored encrypted and never shown again; a new upload rotates it.",
    )

    def clean_key_file(self) -> ServiceAccountKey:
        upload = self.cleaned_data["key_file"]
        if upload.size > KEY_FILE_MAX_BYTES:
            raise ValidationError("This file is too large to be a service account key.")
        try:
            return parse_key_file(upload.read().decode("utf-8", errors="replace"))
        except KeyFileProblem as problem:
            raise ValidationError(str(problem)) from None


def _guid(label: str) -> forms.CharField:
    return forms.CharField(label=label, max_length=36, help_text="A GUID like 11111111-2222-3333-4444-555555555555.")


class MicrosoftAppForm(forms.Form):
    tenant_id = forms.CharField(
        label="Tenant ID",
        max_length=253,
        help_text="Entra ID → Overview → Tenant ID (or your tenant's domain, e.g. contoso.onmicrosoft.com).",
    )
    client_id = _guid("Application (client) ID")
    service_principal_id = _guid("Service principal object ID")
    client_secret = forms.CharField(
        label="Client secret",
        required=False,
        strip=True,
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
    )

    def __init__(self, *args: Any, has_secret: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.has_secret = has_secret
        self.fields[
            "service_principal_id"
        ].help_text = "Entra ID → Enterprise applications → the app → Object ID (not the app registration's)."
        self.fields["client_secret"].help_text = (
            "Stored encrypted and never shown again. Leave empty to keep the stored one; a new one rotates it."
            if has_secret
            else "App registrations → the app → Certificates & secrets → New client secret: its Value."
        )

    def clean_tenant_id(self) -> str:
        tenant = str(self.cleaned_data["tenant_id"]).strip().lower()
        if not TENANT_PATTERN.match(tenant):
            raise ValidationError("Enter the tenant's GUID or one of its domains.")
        return tenant

    def _clean_guid(self, name: str) -> str:
        value = str(self.cleaned_data[name]).strip().lower()
        if not GUID_PATTERN.match(value):
            raise ValidationError("Enter a GUID like 11111111-2222-3333-4444-555555555555.")
        return value

    def clean_client_id(self) -> str:
        return self._clean_guid("client_id")

    def clean_service_principal_id(self) -> str:
        return self._clean_guid("service_principal_id")

    def clean_client_secret(self) -> str | None:
        secret = str(self.cleaned_data.get("client_secret") or "")
        if not secret and not self.has_secret:
            raise ValidationError("Enter the client secret.")
        return secret or None


class OrganisationTestForm(forms.Form):
    mailbox = forms.EmailField(label="Mailbox to open", help_text="Any mailbox the grant should cover.")


class ConnectionChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.get_provider_display())


class OrganisationConnectForm(SpaceForm):
    """Add channel through one of the company's organisation connections."""

    connection = ConnectionChoiceField(
        label="Organisation connection", queryset=OrganisationConnection.objects.none(), empty_label=None
    )
    address = forms.EmailField(
        label="Mailbox address",
        help_text="A mailbox of a verified domain of the connection; a Microsoft 365 shared mailbox is fine.",
    )

    def __init__(self, *args: Any, connections: list[OrganisationConnection], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["connection"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = OrganisationConnection.objects.filter(pk__in=[c.pk for c in connections])
