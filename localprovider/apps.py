from django.apps import AppConfig


class LocalProviderConfig(AppConfig):
    name = "localprovider"
    verbose_name = "Local mail provider"
