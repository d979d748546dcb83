"""How a provider's answers at the end of a sign-in are told to the person who just signed in."""

from django.http import HttpRequest

from channels_app.providers import (
    AuthFailure,
    ConfigurationFailure,
    MailProvider,
    PassingFailure,
    PolicyFailure,
    ProviderFailure,
    ScopeNotGranted,
)
from channels_app.services.notifications import blocked_advice


def failure_message(failure: ProviderFailure, label: str) -> str:
    """What the person who just signed in is told; always ends in what happened to the channel: nothing."""
    if isinstance(failure, ScopeNotGranted):
        return failure.message
    if isinstance(failure, PolicyFailure):
        said = f" {label} says: “{failure.provider_words}”" if failure.provider_words else ""
        return f"{failure.message}{said} {blocked_advice(failure.admin_action)} Nothing was changed."
    if isinstance(failure, AuthFailure):
        return f"{label} did not accept the sign-in. Nothing was changed; please try again."
    if isinstance(failure, ConfigurationFailure):
        code = f" ({failure.code})" if failure.code else ""
        return f"This app's registration with {label} needs fixing by our staff{code}. Nothing was changed."
    return f"{label} could not be reached just now. Nothing was changed; please try again in a minute."


def provider_error(request: HttpRequest, provider: MailProvider) -> str | None:
    """The message for a redirect back without a code (declined, blocked by an administrator, ...)."""
    if error := request.GET.get("error"):
        query = {key: request.GET.get(key, "")[:500] for key in ("error", "error_description", "error_subcode")}
        failure = provider.authorize_error(query)
        if failure is None:
            return f"You declined access at {provider.label}. Nothing was changed."
        if isinstance(failure, PassingFailure) and failure.unrecognised:
            return f"{provider.label} answered with an error ({error[:80]}). Nothing was changed."
        return failure_message(failure, provider.label)
    if not request.GET.get("code"):
        return f"{provider.label} sent you back without an authorization. Nothing was changed."
    return None
