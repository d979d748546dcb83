"""Local mail: the stand-in provider on loopback (localprovider/), enabled in development, demo and tests."""

from channels_app.providers.oauth import OAuthProvider


class LocalProvider(OAuthProvider):
    kind = "local"
    label = "Local mail"
    settings_name = "local"

    def is_configured(self) -> bool:
        from django.conf import settings

        return settings.LOCAL_PROVIDER_ENABLED and super().is_configured()
