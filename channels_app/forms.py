import re
from typing import Any
from urllib.parse import urlsplit

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from channels_app.models import AlertCategory, Company, CompanySignInDomain, User, Workspace
from channels_app.providers import ImapSecurity, get_provider, provider_classes
from channels_app.providers.imap_network import imap_host
from channels_app.providers.imap_session import has_control_characters
from channels_app.services.throttle import Throttled
from channels_app.time_zones import zone_names, zone_of
from channels_app.times import zone_label


def oauth_provider_choices() -> list[tuple[str, str]]:
    """OAuth providers staff have configured; a provider without a client id cannot be offered."""
    return [
        (kind, provider.label)
        for kind, provider in ((k, get_provider(k)) for k in provider_classes())
        if provider.uses_oauth and provider.is_configured()
    ]


IMPORT_CHOICES = [(7, "the last 7 days"), (30, "the last 30 days"), (90, "the last 90 days"), (365, "the last year")]


def import_choices() -> list[tuple[int, str]]:
    choices = dict(IMPORT_CHOICES)
    if settings.FIRST_IMPORT_DAYS:
        choices.setdefault(settings.FIRST_IMPORT_DAYS, f"the last {settings.FIRST_IMPORT_DAYS} days")
    return [*sorted(choices.items()), (0, "everything (large mailboxes take days: providers limit daily downloads)")]


class SpaceForm(forms.Form):
    """The inbox a new channel creates; on the company page also which workspace it belongs to."""

    inbox_name = forms.CharField(max_length=200, required=False, help_text="Defaults to the address.")
    workspace = forms.ModelChoiceField(queryset=Workspace.objects.none(), required=False)
    import_days = forms.TypedChoiceField(
        label="Import mail that arrived in",
        coerce=int,
        empty_value=None,
        required=False,
        choices=[],
        help_text="Older mail stays at the provider; new mail always comes in.",
    )

    def __init__(self, *args: object, workspaces: list[Workspace] | None = None, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        days = self.fields["import_days"]
        assert isinstance(days, forms.TypedChoiceField)
        days.choices = import_choices()
        days.initial = settings.FIRST_IMPORT_DAYS
        if workspaces is None:
            del self.fields["workspace"]
        else:
            field = self.fields["workspace"]
            assert isinstance(field, forms.ModelChoiceField)
            field.queryset = Workspace.objects.filter(pk__in=[w.pk for w in workspaces])
            field.required = True


class OAuthConnectForm(SpaceForm):
    provider = forms.ChoiceField(choices=[], widget=forms.RadioSelect)
    shared_address = forms.EmailField(
        label="A shared mailbox I have access to",
        required=False,
        help_text="Optional. Sign in as yourself, a delegate with Full Access, and we open this address with your "
        "sign-in. Leave empty to connect the account you sign in with.",
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        field = self.fields["provider"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = oauth_provider_choices()
        self.shared_labels = [get_provider(kind).label for kind, _ in field.choices if _opens_shared(kind)]
        if not self.shared_labels:
            del self.fields["shared_address"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        shared, kind = data.get("shared_address"), data.get("provider")
        if shared and kind and not _opens_shared(kind):
            self.add_error(
                "shared_address",
                f"{get_provider(kind).label} has no shared mailboxes opened through a delegate: "
                f"choose {' or '.join(self.shared_labels)}, or leave this empty.",
            )
        return data


def _opens_shared(kind: str) -> bool:
    return get_provider(kind).opens_shared_mailboxes


def could_not_sign_in(host: str, port: int) -> str:
    """One text for every way a connection can fail (refused, timed out, TLS failed, lost, or an address we
    do not connect to): a text per cause would let anyone map which ports answer on any host we reach.
    The cause goes to our log."""
    return f"Could not sign in to a mail server at {host}:{port} with these details."


def too_many_tries(throttled: Throttled) -> str:
    return (
        f"Too many sign-in attempts for this account: try again in {throttled.retry_after_minutes} "
        f"minute{'s' if throttled.retry_after_minutes != 1 else ''}. Nothing was changed."
    )


def refuse_control_characters(value: str) -> None:
    """Every field that reaches a mail server: a line break in it would end our command and start another."""
    if has_control_characters(value):
        raise ValidationError("Line breaks, tabs and other control characters cannot be sent to a mail server.")


def refuse_non_ascii(value: str) -> None:
    if not value.isascii():
        raise ValidationError("IMAP user names are plain ASCII: letters without accents, digits and punctuation.")


def password_field(label: str = "Password") -> forms.CharField:
    # Not stripped: spaces at either end are part of a password.
    return forms.CharField(
        label=label,
        strip=False,
        widget=forms.PasswordInput(render_value=False),
        validators=[refuse_control_characters],
    )


SECURITY_CHOICES = [
    (ImapSecurity.TLS.value, "TLS (port 993)"),
    (ImapSecurity.STARTTLS.value, "STARTTLS (port 143)"),
    (ImapSecurity.NONE.value, "None: passwords travel unencrypted (only for servers on a trusted network)"),
]


class ImapConnectForm(SpaceForm):
    address = forms.EmailField(label="Email address", validators=[refuse_control_characters])
    host = forms.CharField(label="IMAP server", max_length=255)
    security = forms.TypedChoiceField(
        choices=SECURITY_CHOICES, coerce=ImapSecurity, initial=ImapSecurity.TLS.value, widget=forms.RadioSelect
    )
    confirm_unencrypted = forms.BooleanField(
        label="I understand that the password and all mail travel unencrypted to this server.", required=False
    )
    port = forms.IntegerField(
        min_value=1, max_value=65535, required=False, help_text="Leave empty for the usual port of the security chosen."
    )
    username = forms.CharField(
        max_length=255,
        help_text="Often the email address.",
        validators=[refuse_control_characters, refuse_non_ascii],
    )
    password = password_field()

    def clean_host(self) -> str:
        try:
            return imap_host(self.cleaned_data["host"])
        except ValueError as error:
            raise ValidationError(str(error)) from None

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        security = data.get("security")
        if security is ImapSecurity.NONE and not data.get("confirm_unencrypted"):
            self.add_error("confirm_unencrypted", "Confirm that this server may be used without encryption.")
        if security is not None and data.get("port") is None:
            data["port"] = ImapSecurity(security).usual_port
        return data


class ImapPasswordForm(forms.Form):
    password = password_field("New password")


class LinkSendForm(forms.Form):
    email = forms.EmailField(
        label="Send a reauthorization link to",
        max_length=254,
        validators=[refuse_control_characters],
        help_text="Whoever holds the account's sign-in; they need no account with us.",
    )


class SupportRequestForm(forms.Form):
    # Only the person's own words are posted; diagnostics are gathered on the server.
    message = forms.CharField(
        label="What is happening?",
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="For example what you were doing when mail stopped. Never include passwords.",
    )


# A host name of two or more labels (RFC 1123): what an email domain must be.
_DOMAIN_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def clean_email_domain(text: str) -> str:
    """`Acme.COM` → `acme.com`; a non-ASCII name in its IDNA form; else ValidationError naming it."""
    domain = text.strip().lower().removeprefix("@").rstrip(".")
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        raise ValidationError(f"{text!r} is not a domain name.") from None
    labels = domain.split(".")
    if len(domain) > 253 or len(labels) < 2 or not all(_DOMAIN_LABEL.match(label) for label in labels):
        raise ValidationError(f"{text!r} is not a domain name like example.com.")
    return domain


class CompanySignInForm(forms.Form):
    """The company's identity provider. Domains are checked against who has an account here: a domain
    may send to this company's provider only people who are members of this company (staff aside)."""

    domains = forms.CharField(
        label="Email domains",
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="The domains your company owns, one per line or separated by commas, e.g. acme.com.",
    )
    issuer_url = forms.CharField(
        label="Issuer URL",
        max_length=500,
        help_text="Okta: https://YOUR-ORG.okta.com · Entra ID: https://login.microsoftonline.com/TENANT-ID/v2.0 · "
        "Google Workspace: https://accounts.google.com",
    )
    client_id = forms.CharField(label="Client ID", max_length=255)
    client_secret = forms.CharField(
        label="Client secret",
        required=False,
        strip=True,
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
    )

    def __init__(self, *args: Any, company: Company, has_secret: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.company = company
        self.has_secret = has_secret
        if has_secret:
            self.fields["client_secret"].help_text = "Stored encrypted. Leave empty to keep the current one."

    def clean_domains(self) -> list[str]:
        domains: list[str] = []
        for text in re.split(r"[\s,;]+", self.cleaned_data["domains"]):
            if text and (domain := clean_email_domain(text)) not in domains:
                domains.append(domain)
        if not domains:
            raise ValidationError("Name at least one domain.")
        taken = CompanySignInDomain.objects.filter(domain__in=domains).exclude(sign_in__company=self.company)
        if found := sorted(taken.values_list("domain", flat=True)):
            raise ValidationError(f"Another company signs in people of {', '.join(found)}.")
        for domain in domains:
            outsiders = User.objects.filter(email__iendswith=f"@{domain}", is_staff=False, is_superuser=False).exclude(
                company_membership__company=self.company
            )
            if outsiders.exists():
                raise ValidationError(
                    f"Some people with an address at {domain} are not members of {self.company.name}, so "
                    f"{self.company.name} cannot take over their sign-in."
                )
        return domains

    def clean_issuer_url(self) -> str:
        url = self.cleaned_data["issuer_url"].strip().rstrip("/")
        parts = urlsplit(url)
        try:
            URLValidator(schemes=["https", "http"])(url)
        except ValidationError:
            raise ValidationError("Enter the issuer's address, like https://acme.okta.com.") from None
        if parts.query or parts.fragment:
            # OpenID Connect Discovery 1.0, section 2: an issuer has no query or fragment.
            raise ValidationError("An issuer URL has no ?query or #fragment.")
        local = settings.LOCAL_PROVIDER_ENABLED and parts.hostname in {"127.0.0.1", "localhost"}
        if parts.scheme != "https" and not local:
            raise ValidationError("The issuer URL must start with https://.")
        return url

    def clean_client_secret(self) -> str | None:
        """None keeps the stored secret."""
        secret = self.cleaned_data["client_secret"]
        if not secret and not self.has_secret:
            raise ValidationError("Enter the client secret your identity provider gave you.")
        return secret or None


# What each category covers, in the words of someone deciding whether to be emailed about it.
ALERT_CATEGORY_HELP = {
    AlertCategory.SIGN_IN: "A channel you can fix lost its access (password changed, access revoked or expired): "
    "someone must reauthorize it.",
    AlertCategory.STOPPED: "A channel is blocked by its provider's administrator, cannot be reached, or waits for "
    "our staff to fix the app's settings with its provider.",
    AlertCategory.BACK: "A channel you were told about works again, or was reauthorized and imported the mail it "
    "missed.",
    AlertCategory.LINKS: "Someone used a reauthorization link you sent, or it was refused.",
    AlertCategory.STAFF: "Provider answers the app does not recognise yet, internal errors, and push "
    "notifications gone silent. Only staff are sent these.",
}


class AlertEmailPreferencesForm(forms.Form):
    """One checkbox per category the person may be sent: ticked, its alerts also come by email."""

    def __init__(self, *args: Any, categories: list[AlertCategory], opted_out: set[AlertCategory], **kwargs: Any):
        super().__init__(*args, **kwargs)
        for category in categories:
            self.fields[category.value] = forms.BooleanField(
                label=category.label,
                required=False,
                initial=category not in opted_out,
                help_text=ALERT_CATEGORY_HELP[category],
            )

    def emailed(self) -> set[AlertCategory]:
        return {AlertCategory(name) for name, ticked in self.cleaned_data.items() if ticked}


class TimeZoneForm(forms.Form):
    """A zone of the IANA tz database (channels_app/time_zones.py); the browser's report is checked the same way."""

    time_zone = forms.ChoiceField(
        label="Time zone", help_text="Every time in Shared Inbox shows in this zone.", choices=[]
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["time_zone"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(name, zone_label(name)) for name in zone_names()]

    def clean_time_zone(self) -> str:
        name: str = self.cleaned_data["time_zone"]
        if zone_of(name) is None:
            raise ValidationError("This time zone is not known here.")
        return name
