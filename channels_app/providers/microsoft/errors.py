"""How Microsoft's identity platform and Exchange Online word their refusals (see recorded.json).

Error bodies carry `error`, `error_description` (an AADSTS code and text), `error_codes` and
sometimes `suberror`: https://learn.microsoft.com/en-us/entra/identity-platform/reference-error-codes.
The AADSTS code decides first; then the suberror; then the RFC 6749 error.
"""

import re
from dataclasses import dataclass

import requests

from channels_app.providers.base import (
    AuthFailure,
    ConfigurationFailure,
    PassingFailure,
    PolicyFailure,
    ProviderFailure,
    ReasonCode,
    unrecognised,
)
from channels_app.providers.imap_session import provider_words
from channels_app.providers.oauth import TokenAnswer, generic_token_error

_AADSTS = re.compile(r"AADSTS(\d+)")

# Codes whose fix is signing in again (the mailbox's owner), and why.
_AUTH = {
    50173: ReasonCode.REVOKED,  # grant revoked, e.g. password changed or reset
    700082: ReasonCode.DISUSE,  # refresh token unused for 90 days
    50076: ReasonCode.MFA,  # MFA now required
    50078: ReasonCode.MFA,  # MFA expired
    50079: ReasonCode.MFA,  # must enrol in MFA
    70043: ReasonCode.SIGN_IN_FREQUENCY,  # Conditional Access sign-in frequency
    70008: ReasonCode.DISUSE,  # the grant expired
    65001: ReasonCode.REVOKED,  # consent withdrawn: an interactive sign-in asks again
    50132: ReasonCode.REVOKED,  # session revoked (password change)
    50133: ReasonCode.REVOKED,  # session invalid after a password change
}
# Codes only an administrator of the customer's tenant can lift, and what to ask them.
_POLICY = {
    53003: "let this app through the Conditional Access policy that blocks it",
    53000: "let this device or app through the Conditional Access policy (compliant device required)",
    50057: "enable the user account again, or connect the mailbox through another account",
    50034: "check that the account still exists in the directory",
    50105: "assign the account to Shared Inbox in Entra ID (Enterprise applications)",
    90094: "grant admin consent to Shared Inbox in Entra ID (Enterprise applications, Permissions)",
    500011: "check that the organisation has Exchange Online (the Outlook resource was not found in the tenant)",
}
# Codes that mean our own registration with Microsoft is wrong.
_CONFIGURATION = (7000215, 7000222, 700016, 700054, 7000218, 50011, 90002, 70011, 9002313, 900144)
# Throttling and outages: back off and retry.
_PASSING = (50196, 90033, 90006, 50058)


def _code(answer_text: str, error_codes: object) -> int | None:
    if isinstance(error_codes, list) and error_codes and isinstance(error_codes[0], int):
        return int(error_codes[0])
    match = _AADSTS.search(answer_text)
    return int(match.group(1)) if match else None


def _words(description: str) -> str:
    first = description.splitlines()[0] if description else ""
    return re.sub(r"^AADSTS\d+:\s*", "", first).split(" Trace ID:")[0].strip()


def classify(error: str, description: str, error_codes: object, suberror: str) -> ProviderFailure | None:
    """Microsoft's error triple, read code first; None when it says nothing we know."""
    number = _code(description, error_codes)
    words = _words(description)
    code = f"AADSTS{number}" if number is not None else error
    if number in _AUTH:
        return AuthFailure(
            "Microsoft asks for a fresh sign-in to this mailbox.", _AUTH[number], code=code, provider_words=words
        )
    if number in _POLICY:
        return PolicyFailure(
            "An administrator at Microsoft 365 blocks this app's access to the mailbox.",
            admin_action=_POLICY[number],
            code=code,
            provider_words=words,
        )
    if number in _CONFIGURATION:
        return ConfigurationFailure(
            "Microsoft rejected this app's registration (client id, secret or tenant).", code=code, provider_words=words
        )
    if number in _PASSING:
        return PassingFailure(
            "Microsoft is throttling our requests or having trouble.",
            code=code,
            provider_words=words,
            throttled=number == 50196,
        )
    if number is not None and error not in ("temporarily_unavailable", "server_error"):
        # An AADSTS code we have never seen: say so to staff rather than guess.
        return unrecognised(code, words)
    # No code we know: the suberror says who can act (MSAL's list of suberrors).
    if suberror == "message_only":
        return PolicyFailure(
            "An administrator at Microsoft 365 blocks this app's access to the mailbox.",
            admin_action="check the sign-in logs in Entra ID for this account and lift the block",
            code=code,
            provider_words=words,
        )
    if suberror in ("basic_action", "additional_action", "consent_required", "user_password_expired", "bad_token"):
        return AuthFailure("Microsoft asks for a fresh sign-in to this mailbox.", code=code, provider_words=words)
    if error in ("interaction_required", "consent_required", "login_required"):
        return AuthFailure("Microsoft asks for a fresh sign-in to this mailbox.", code=code, provider_words=words)
    return None


def token_error(answer: TokenAnswer) -> ProviderFailure:
    body = answer.body if isinstance(answer.body, dict) else {}
    description = str(body.get("error_description", ""))
    known = (
        classify(answer.error, description, body.get("error_codes"), str(body.get("suberror", ""))) if body else None
    )
    if isinstance(known, PassingFailure):
        known.retry_after = answer.retry_after
    return known or generic_token_error(answer)


def authorize_error(query: dict[str, str]) -> ProviderFailure | None:
    description = query.get("error_description", "")
    if "AADSTS65004" in description or query.get("error_subcode") == "cancel":
        return None  # the person declined
    return classify(query.get("error", ""), description, None, query.get("suberror", ""))


def imap_answer(text: str) -> ProviderFailure | None:
    """Exchange Online's IMAP refusals."""
    words = provider_words(text)
    if "User is authenticated but not connected" in text:
        # The sign-in worked but the mailbox cannot be opened: IMAP turned off for it, no licence or no
        # access to it. Reauthorizing does not change that.
        return PolicyFailure(
            "Microsoft 365 accepted the sign-in but will not open the mailbox over IMAP.",
            admin_action=(
                "turn IMAP on for this mailbox (Microsoft 365 admin center: Users, the user, Mail, Manage email "
                "apps) and check that it has an Exchange Online licence"
            ),
            code="User is authenticated but not connected",
            provider_words=words,
        )
    if "AUTHENTICATE failed" in text:
        return AuthFailure(
            "Microsoft 365 refused our sign-in to the mailbox.", code="AUTHENTICATE failed", provider_words=words
        )
    return None


# --- Microsoft Graph (change notification subscriptions) -------------------------------------------
# Graph's error body is {"error": {"code", "message", "innerError"}}: https://learn.microsoft.com/en-us/graph/errors.
# Subscriptions to mail relay Exchange's answer as code "ExtensionError" with "Operation: Create; Exception:
# [Status Code: Forbidden; ...]" (recorded in recorded.json, section "graph", each with its source).


@dataclass(frozen=True)
class GraphAnswer:
    status: int
    code: str
    message: str
    retry_after: int | None

    @classmethod
    def from_response(cls, response: requests.Response) -> "GraphAnswer":
        try:
            body = response.json()
        except ValueError:
            body = None
        error = body.get("error") if isinstance(body, dict) else None
        error = error if isinstance(error, dict) else {}
        retry = response.headers.get("Retry-After", "")
        return cls(
            response.status_code,
            str(error.get("code", ""))[:80],
            str(error.get("message", "")).splitlines()[0][:300] if error.get("message") else "",
            int(retry) if retry.strip().isdigit() else None,
        )


class SubscriptionGone(PassingFailure):
    """Graph no longer knows the subscription (expired or removed): the service creates a new one."""


def graph_unreachable() -> PassingFailure:
    return PassingFailure("Microsoft Graph could not be reached.", code="network")


_GRAPH_POLICY_ACTION = (
    "allow Shared Inbox to read this mailbox through Microsoft Graph (Mail.Read), and check that no Exchange "
    "Online application access policy excludes it"
)


def graph_error(answer: GraphAnswer) -> ProviderFailure:
    """What a refused subscription request means, and who can act on it."""
    code = f"{answer.code or 'HTTP'} {answer.status}".strip()
    words = answer.message
    if answer.status == 401:
        # The Graph token was refused (revoked grant, expired consent): the owner signs in again.
        return AuthFailure(
            "Microsoft refused to renew our subscription to this mailbox.",
            ReasonCode.SUBSCRIPTION,
            code=code,
            provider_words=words,
        )
    if answer.status == 429:
        return PassingFailure(
            "Microsoft Graph is throttling our requests.",
            code=code,
            retry_after=answer.retry_after,
            throttled=True,
            provider_words=words,
        )
    if answer.status >= 500:
        return PassingFailure(
            "Microsoft Graph is having trouble.", code=code, retry_after=answer.retry_after, provider_words=words
        )
    if "validation request failed" in words.lower():
        # Graph could not get our notification URL to echo its validationToken within 10 s: our
        # SITE_URL or web server, which only staff can fix.
        return ConfigurationFailure(
            "Microsoft Graph could not reach our notification address (check SITE_URL and that it is public).",
            code=code,
            provider_words=words,
        )
    if answer.status == 403:
        return PolicyFailure(
            "An administrator at Microsoft 365 does not let this app subscribe to the mailbox.",
            admin_action=_GRAPH_POLICY_ACTION,
            code=code,
            provider_words=words,
        )
    if answer.status == 404 and "not yet supported for this mailbox" in words:
        return PolicyFailure(
            "Microsoft 365 offers no notifications for this mailbox (it is not hosted in Exchange Online).",
            admin_action="move the mailbox to Exchange Online, or tell us to keep checking it on a schedule",
            code=code,
            provider_words=words,
        )
    if answer.status == 404:
        return SubscriptionGone("Microsoft Graph no longer knows our subscription.", code=code, provider_words=words)
    return unrecognised(code, words)
