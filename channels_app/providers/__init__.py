"""Mail providers behind one interface (base.MailProvider); one package each, found by the registry.

Nothing here touches the database: callers pass what a provider needs.
"""

from channels_app.providers.base import (
    AuthFailure,
    ConfigurationFailure,
    Credentials,
    FailureKind,
    ImapEndpoint,
    ImapSecurity,
    MailProvider,
    PassingFailure,
    PolicyFailure,
    ProviderFailure,
    ReasonCode,
    RevokeOutcome,
    ScopeNotGranted,
)
from channels_app.providers.registry import get_provider, provider_choices, provider_classes

__all__ = [
    "AuthFailure",
    "ReasonCode",
    "ConfigurationFailure",
    "Credentials",
    "FailureKind",
    "ImapEndpoint",
    "ImapSecurity",
    "MailProvider",
    "PassingFailure",
    "PolicyFailure",
    "ProviderFailure",
    "RevokeOutcome",
    "ScopeNotGranted",
    "get_provider",
    "provider_choices",
    "provider_classes",
]
