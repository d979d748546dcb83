"""The scopes Local mail grants, and how each persona words them back. Plain data, no Django.

The main app asks Google for `https://mail.google.com/ openid email` and Microsoft for
`openid email offline_access https://outlook.office.com/IMAP.AccessAsUser.All`; the plain persona for
`imap`. Any one mail scope opens the mailbox over IMAP; the others only name the person.
"""

from collections.abc import Iterable

from localprovider.personas import Persona

GMAIL_SCOPE = "https://mail.google.com/"
OUTLOOK_IMAP_SCOPE = "https://outlook.office.com/IMAP.AccessAsUser.All"
# Graph's mail permission (change notifications): another audience than IMAP, so it opens no mailbox over IMAP.
GRAPH_MAIL_SCOPE = "https://graph.microsoft.com/Mail.Read"
MAIL_SCOPES = ("imap", GMAIL_SCOPE, OUTLOOK_IMAP_SCOPE)
# Sign-in scopes: never a checkbox on Google's consent page, always granted with the rest.
IDENTITY_SCOPES = ("openid", "email", "profile", "offline_access")
# The scope Dovecot's oauth2 passdb requires (dovecot-oauth2.conf.ext.template).
DOVECOT_SCOPE = "imap"

# What the consent page says about each scope (DOT's SCOPES setting). The Gmail line is Google's own
# wording on its consent screen: https://developers.google.com/workspace/gmail/api/auth/scopes
DESCRIPTIONS = {
    "imap": "Read and manage your mail over IMAP",
    GMAIL_SCOPE: "Read, compose, send and permanently delete all your email from Gmail",
    OUTLOOK_IMAP_SCOPE: "Read and write access to your mailbox via IMAP",
    # Microsoft's consent wording for Mail.Read: https://learn.microsoft.com/en-us/graph/permissions-reference#mailread
    GRAPH_MAIL_SCOPE: "Read your mail",
    "openid": "Sign you in with your account",
    "email": "See your email address",
    "profile": "See your basic profile info",
    "offline_access": "Keep access to what you gave it access to",
    "introspection": "Introspect tokens",
}

# Google names the OpenID `email`/`profile` scopes by their full URLs in the token response
# ("scope": "https://www.googleapis.com/auth/userinfo.email openid https://mail.google.com/"):
# https://developers.google.com/identity/protocols/oauth2/scopes#oauth2 (Google OAuth2 API, v2).
_GOOGLE_NAMES = {
    "email": "https://www.googleapis.com/auth/userinfo.email",
    "profile": "https://www.googleapis.com/auth/userinfo.profile",
}
# Microsoft's token response lists only the resource scopes the access token is for, never
# openid/email/profile/offline_access: "scope": "https://graph.microsoft.com/mail.read" in
# https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-auth-code-flow#successful-response-2
_MICROSOFT_UNECHOED = frozenset(IDENTITY_SCOPES)


def reported_scope(persona: Persona, granted: str) -> str:
    """The `scope` field of a token response, worded as the persona's real provider words it."""
    scopes = granted.split()
    if persona == "google":
        scopes = [_GOOGLE_NAMES.get(scope, scope) for scope in scopes]
    elif persona == "microsoft":
        scopes = [scope for scope in scopes if scope not in _MICROSOFT_UNECHOED]
    return " ".join(scopes)


def grants_mail(scopes: Iterable[str]) -> bool:
    return any(scope in MAIL_SCOPES for scope in scopes)


def for_dovecot(granted: str) -> str:
    """The scope told to Dovecot at introspection: `imap` added when any mail scope was granted.

    Dovecot 2.3.19 requires *every* scope listed in its `scope` setting (space-separated, in any
    order; a comma is no separator), so it cannot be given "any of the three mail scopes": seen with
    `scope = imap https://mail.google.com/ …`, a token granted only `https://mail.google.com/` was
    refused. So the setting stays `imap` and the introspection answer says `imap` for every mail scope.
    """
    scopes = granted.split()
    if grants_mail(scopes) and DOVECOT_SCOPE not in scopes:
        scopes.append(DOVECOT_SCOPE)
    return " ".join(scopes)


def optional_scopes(persona: Persona, requested: Iterable[str]) -> list[str]:
    """The requested scopes a person may untick on the consent page (Google's granular consent:
    https://developers.google.com/identity/protocols/oauth2/resources/granular-permissions);
    sign-in scopes are always granted, so only a request with one has anything to untick. Other
    personas grant all or nothing."""
    requested = list(requested)
    if persona != "google" or not any(scope in IDENTITY_SCOPES for scope in requested):
        return []
    return [scope for scope in requested if scope not in IDENTITY_SCOPES]


def granted_scopes(persona: Persona, requested: Iterable[str], ticked: Iterable[str]) -> list[str]:
    """What the consent grants: the requested scopes minus the optional ones left unticked."""
    requested = list(requested)
    untickable = set(optional_scopes(persona, requested))
    ticked = set(ticked)
    return [scope for scope in requested if scope not in untickable or scope in ticked]


def _resource(scope: str) -> str:
    # https://outlook.office.com/IMAP.AccessAsUser.All belongs to https://outlook.office.com.
    return scope.rsplit("/", 1)[0] if scope.startswith("https://") else scope


def first_resource_only(granted: str) -> str:
    """The scopes of one access token at Microsoft: the sign-in scopes and those of the first resource
    asked for ("scopes must all be from a single resource":
    https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-auth-code-flow#redeem-a-code-for-an-access-token)."""
    scopes = granted.split()
    resources = [scope for scope in scopes if scope not in IDENTITY_SCOPES]
    if not resources:
        return granted
    first = _resource(resources[0])
    return " ".join(scope for scope in scopes if scope in IDENTITY_SCOPES or _resource(scope) == first)
