"""How Google's token endpoint and Gmail's IMAP server word their refusals (see recorded.json)."""

from datetime import timedelta

from django.utils import timezone

from channels_app.providers.base import (
    AuthFailure,
    ConfigurationFailure,
    Credentials,
    PassingFailure,
    PolicyFailure,
    ProviderFailure,
    unrecognised,
)
from channels_app.providers.imap_session import provider_words
from channels_app.providers.oauth import TokenAnswer, generic_token_error

# Refresh tokens of an app in Testing mode die this long after the grant.
TESTING_MODE_GRANT_LIFETIME = timedelta(days=7)


def token_error(answer: TokenAnswer, credentials: Credentials | None, *, testing_mode: bool) -> ProviderFailure:
    body = answer.body
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        # Google's API error format: {"error": {"code", "message", "errors": [{"reason"}], "status"}}.
        details = body["error"]
        reasons = [e.get("reason", "") for e in details.get("errors", []) if isinstance(e, dict)]
        reason = next((r for r in reasons if r), details.get("status", ""))
        if answer.status == 429 or answer.status >= 500 or reason in ("rateLimitExceeded", "backendError"):
            return PassingFailure(
                "Google is throttling our requests or having trouble.",
                code=reason or f"HTTP {answer.status}",
                retry_after=answer.retry_after,
                throttled=reason == "rateLimitExceeded" or answer.status == 429,
            )
        return unrecognised(reason or f"HTTP {answer.status}", str(details.get("message", "")))
    failure = generic_token_error(answer)
    granted = credentials.granted_at if credentials else None
    if (
        testing_mode
        and isinstance(failure, AuthFailure)
        and granted is not None
        and timezone.now() - granted >= TESTING_MODE_GRANT_LIFETIME - timedelta(hours=1)
    ):
        return ConfigurationFailure(
            "This app's Google registration is in Testing mode, whose sign-ins expire after 7 days: staff must "
            "publish it (Google Cloud console, OAuth consent screen, Publish app). Reauthorizing restores mail "
            "for another 7 days meanwhile.",
            code="invalid_grant (Testing mode)",
            provider_words=failure.provider_words,
        )
    return failure


def authorize_error(query: dict[str, str]) -> ProviderFailure | None:
    error = query.get("error", "")
    words = query.get("error_description", "")
    if error == "admin_policy_enforced":
        return PolicyFailure(
            "The Google Workspace administrator does not allow this app.",
            admin_action=(
                "allow this app in the Google Admin console (Security, Access and data control, API controls, "
                "App access control) and trust it for Gmail"
            ),
            code=error,
            provider_words=words,
        )
    if error in ("org_internal", "disallowed_useragent", "deleted_client", "invalid_client"):
        return ConfigurationFailure(
            "This app's Google registration does not accept this account.", code=error, provider_words=words
        )
    return None


def imap_answer(text: str) -> ProviderFailure | None:
    """Gmail's refusals: https://support.google.com/mail/answer/7126229 and the recorded transcripts."""
    words = provider_words(text)
    if "Too many simultaneous connections" in text:
        return PassingFailure(
            "Gmail refused a connection: too many are open to this mailbox.",
            code="[ALERT] Too many simultaneous connections",
            provider_words=words,
            throttled=True,
        )
    if "exceeded command or bandwidth limits" in text:
        code = "[OVERQUOTA]" if "[OVERQUOTA]" in text else "[ALERT] Account exceeded command or bandwidth limits"
        return PassingFailure(
            "Gmail's daily download limit for this mailbox is used up; we continue when it resets.",
            code=code,
            provider_words=words,
            throttled=True,
            # Gmail does not say when; an hour keeps us from knocking while it lasts.
            retry_after=3600,
        )
    if "not enabled for IMAP use" in text:
        return PolicyFailure(
            "IMAP is turned off for this Gmail account.",
            admin_action=(
                "turn IMAP on for this account (Google Admin console: Apps, Google Workspace, Gmail, End User "
                "Access, POP and IMAP access; or Gmail's own settings, Forwarding and POP/IMAP, for a personal account)"
            ),
            code="[ALERT] IMAP disabled",
            provider_words=words,
        )
    if "[ALERT]" in text:
        return unrecognised("[ALERT]", words)
    return None


def api_error(status: int, body: object, retry_after: int | None) -> ProviderFailure:
    """What an error answer of the Gmail API (users.watch, users.stop, users.history.list) means.

    Google's format: {"error": {"code", "message", "errors": [{"reason"}], "status"}}
    (https://developers.google.com/workspace/gmail/api/guides/handle-errors); examples in recorded.json.
    """
    details = body.get("error") if isinstance(body, dict) else None
    details = details if isinstance(details, dict) else {}
    reasons = [e.get("reason", "") for e in details.get("errors", []) if isinstance(e, dict)]
    reason = next((r for r in reasons if r), str(details.get("status", "")))
    code = reason or f"HTTP {status}"
    words = str(details.get("message", ""))
    if status == 401:
        # An access token refused even after a refresh: the grant is gone.
        return AuthFailure("Google refused our access to this mailbox.", code=code, provider_words=words)
    if status == 429 or status >= 500 or reason in ("rateLimitExceeded", "userRateLimitExceeded", "backendError"):
        return PassingFailure(
            "Google is throttling our requests or having trouble.",
            code=code,
            retry_after=retry_after,
            throttled=status == 429 or "RateLimit" in reason,
        )
    if status == 403 and reason == "insufficientPermissions":
        return AuthFailure("The grant no longer includes access to this mailbox.", code=code, provider_words=words)
    if (status == 403 and reason in ("forbidden", "accessNotConfigured", "PERMISSION_DENIED")) or (
        status in (400, 404) and reason in ("invalidArgument", "INVALID_ARGUMENT", "notFound", "NOT_FOUND")
    ):
        # The Pub/Sub topic (its name, its project, Gmail's right to publish to it) is ours to set up.
        return ConfigurationFailure(
            "Gmail refused to send notifications to this app's Pub/Sub topic: staff must check GMAIL_PUBSUB_TOPIC, "
            "its project, and that gmail-api-push@system.gserviceaccount.com may publish to it.",
            code=code,
            provider_words=words,
        )
    return unrecognised(code, words)
