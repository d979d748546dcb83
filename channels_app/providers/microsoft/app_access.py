"""Microsoft 365 application access for IMAP: our app's own token (client credentials, no person), then
XOAUTH2 naming the mailbox, a shared mailbox included, once the tenant's administrator consented to
IMAP.AccessAsApp, registered the app's service principal in Exchange and gave it Full Access to the mailbox.

All of it is Microsoft's "Use client credentials grant flow to authenticate IMAP and POP connections":
https://learn.microsoft.com/en-us/exchange/client-developer/legacy-protocols/how-to-authenticate-an-imap-pop-smtp-application-by-using-oauth#use-client-credentials-grant-flow-to-authenticate-imap-and-pop-connections
(scope https://outlook.office365.com/.default; New-ServicePrincipal -AppId -ObjectId; Add-MailboxPermission
-Identity -User <service principal id> -AccessRights FullAccess; the admin consent URL).
"""

import re
from datetime import datetime

from django.views.decorators.debug import sensitive_variables

from channels_app.providers.base import ProviderFailure
from channels_app.providers.oauth import TokenAnswer
from channels_app.providers.organisation import (
    GrantMissing,
    MintedToken,
    OrganisationGrantFailure,
    post_for_token,
)

SCOPE = "https://outlook.office365.com/.default"
# A tenant is named by its GUID or one of its domains; anything else never reaches a URL.
TENANT_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]{0,252}$")
GUID_PATTERN = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")

# https://learn.microsoft.com/en-us/entra/identity-platform/reference-error-codes
KEY_CODES = {
    "AADSTS7000215": "the client secret is wrong (or was deleted in Entra ID)",
    "AADSTS7000222": "the client secret has expired",
    "AADSTS7000216": "no client secret or certificate was sent",
}
CONSENT_CODES = {
    "AADSTS700016": "the app is not in the tenant: the administrator has not consented to it (or removed it)",
    "AADSTS500011": "the Exchange Online resource is not consented to in the tenant",
    "AADSTS65001": "the administrator has not consented to the app's permissions",
}
SETTINGS_CODES = {"AADSTS90002": "the tenant is not found: check the tenant id", "AADSTS900023": "invalid tenant"}


def token_url(template: str, tenant_id: str) -> str:
    """The tenant's own token endpoint: MICROSOFT_APP_TOKEN_URL with the tenant (checked against
    TENANT_PATTERN by the form) in place of `{tenant}`."""
    return template.replace("{tenant}", tenant_id)


def _aadsts(answer: TokenAnswer) -> str:
    codes = answer.body.get("error_codes") if isinstance(answer.body, dict) else None
    if isinstance(codes, list) and codes and isinstance(codes[0], int):
        return f"AADSTS{codes[0]}"
    match = re.search(r"AADSTS\d+", answer.description)
    return match.group(0) if match else ""


def token_error(answer: TokenAnswer) -> ProviderFailure | None:
    """Microsoft's answers to our app's token request, code first; None leaves the rest to the shared reading."""
    code = _aadsts(answer)
    words = re.sub(r"^AADSTS\d+:\s*", "", answer.description)
    for codes, grant in ((KEY_CODES, GrantMissing.KEY), (CONSENT_CODES, GrantMissing.CONSENT)):
        if code in codes:
            return OrganisationGrantFailure(
                f"Microsoft refused our app's token: {codes[code]}.", grant=grant, code=code, provider_words=words
            )
    if code in SETTINGS_CODES:
        return OrganisationGrantFailure(
            f"Microsoft refused our app's token: {SETTINGS_CODES[code]}.",
            grant=GrantMissing.SETTINGS,
            code=code,
            provider_words=words,
        )
    if answer.error in ("invalid_client", "unauthorized_client"):
        return OrganisationGrantFailure(
            "Microsoft refused our app's credentials.", grant=GrantMissing.KEY, code=answer.error, provider_words=words
        )
    return None


@sensitive_variables("client_secret", "data")
def mint_token(
    *,
    token_url_template: str,
    tenant_id: str,
    client_id: str,
    client_secret: str,
    now: datetime | None = None,
) -> MintedToken:
    """One token for our app in the tenant: it opens every mailbox the service principal has Full Access to."""
    data = {
        "grant_type": "client_credentials",
        "client_id": client_id,
        "client_secret": client_secret,
        "scope": SCOPE,
    }
    url = token_url(token_url_template, tenant_id)
    return post_for_token(url, data, token_error, now=now)


# --- what the tenant's administrator does ------------------------------------------------------------


def consent_url(*, tenant_id: str, client_id: str) -> str:
    """Admin consent for the whole tenant: https://learn.microsoft.com/en-us/entra/identity-platform/v2-admin-consent"""
    return f"https://login.microsoftonline.com/{tenant_id}/adminconsent?client_id={client_id}"


def service_principal_line(*, client_id: str, object_id: str) -> str:
    return f"New-ServicePrincipal -AppId {client_id} -ObjectId {object_id}"


def mailbox_permission_line(*, object_id: str, mailbox: str) -> str:
    return f'Add-MailboxPermission -Identity "{mailbox}" -User {object_id} -AccessRights FullAccess'


def powershell_lines(*, client_id: str, object_id: str, mailboxes: list[str]) -> list[str]:
    """Exchange Online PowerShell, in order: connect, register the service principal, one Full Access grant
    per mailbox (shared mailboxes alike)."""
    lines = [
        "Install-Module -Name ExchangeOnlineManagement",
        "Connect-ExchangeOnline -Organization <your tenant's domain>",
        service_principal_line(client_id=client_id, object_id=object_id),
    ]
    return lines + [mailbox_permission_line(object_id=object_id, mailbox=mailbox) for mailbox in mailboxes]


# Why the grant is already narrow, and what RBAC for Applications does and does not add: its roles cover
# Microsoft Graph and EWS, not IMAP (https://learn.microsoft.com/en-us/exchange/permissions-exo/application-rbac),
# and application access policies likewise limit Graph and EWS only.
LEAST_PRIVILEGE_NOTES = [
    "IMAP.AccessAsApp opens only the mailboxes you give the service principal Full Access to with "
    "Add-MailboxPermission: that list is the whole of our reach. Remove-MailboxPermission withdraws one.",
    "Grant our app no Microsoft Graph application permission such as Mail.Read: those reach every mailbox of "
    "the tenant unless limited by RBAC for Applications (New-ManagementScope and New-ManagementRoleAssignment "
    "-App) or an application access policy, which cover Graph and EWS but not IMAP.",
    "Consent can be withdrawn at any time in Entra ID → Enterprise applications; the channels then wait and "
    "your company admins are told, once.",
]


def grant_again(*, tenant_id: str, client_id: str, object_id: str, missing: str, address: str = "") -> str:
    """What to ask the tenant's administrator for, after a failure of kind `missing` (a GrantMissing value)."""
    if missing == GrantMissing.KEY:
        return "create a new client secret for the app in Entra ID and enter it on the Organisation connection page"
    if missing == GrantMissing.SETTINGS:
        return "check the tenant id entered on the Organisation connection page"
    if missing == GrantMissing.CONSENT:
        return (
            f"consent to the app again at {consent_url(tenant_id=tenant_id, client_id=client_id)} and, if its "
            f"service principal was removed from Exchange, register it again "
            f"({service_principal_line(client_id=client_id, object_id=object_id)})"
        )
    mailbox = mailbox_permission_line(object_id=object_id, mailbox=address or "<mailbox>")
    return (
        f"check the app's consent ({consent_url(tenant_id=tenant_id, client_id=client_id)}), its service "
        f"principal in Exchange ({service_principal_line(client_id=client_id, object_id=object_id)}) and the "
        f"mailbox's permission ({mailbox})"
    )
