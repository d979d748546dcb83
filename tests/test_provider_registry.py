"""One home per provider: the registry finds the packages, settings only override their values."""

import sys
import textwrap

from channels_app import providers
from channels_app.models import Channel
from channels_app.providers import get_provider, provider_choices, provider_classes
from config import mail_providers


def test_every_provider_package_is_found_in_order_and_is_a_channel_choice():
    assert list(provider_classes()) == ["gmail", "microsoft", "imap", "local"]
    assert sorted(provider_classes()) == mail_providers.KINDS
    assert list(Channel._meta.get_field("provider").choices) == provider_choices()
    assert provider_choices()[:3] == [("gmail", "Gmail"), ("microsoft", "Microsoft 365"), ("imap", "IMAP")]


def test_a_new_provider_is_its_package_alone(tmp_path, monkeypatch):
    package = tmp_path / "newmail"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "provider.py").write_text(
        textwrap.dedent(
            """
            from channels_app.providers.imap.provider import ImapPasswordProvider

            class NewMail(ImapPasswordProvider):
                kind = "newmail"
                label = "New Mail"
                position = 40

            PROVIDER = NewMail
            """
        )
    )
    monkeypatch.setattr(providers, "__path__", [*providers.__path__, str(tmp_path)])
    provider_classes.cache_clear()
    try:
        assert ("newmail", "New Mail") in provider_choices()
        assert list(Channel._meta.get_field("provider").choices)[3] == ("newmail", "New Mail")
        assert get_provider("newmail").rate_limit == 20  # the interface's defaults, no setting needed
    finally:
        monkeypatch.undo()
        provider_classes.cache_clear()
        sys.modules.pop("channels_app.providers.newmail.provider", None)
        sys.modules.pop("channels_app.providers.newmail", None)
    assert "newmail" not in provider_classes()


def test_settings_override_a_providers_own_values_and_nothing_else(monkeypatch, settings):
    environ = {
        "MICROSOFT_TOKEN_URL": "https://login.example.test/token",
        "GMAIL_RATE_LIMIT": "5",
        "IMAP_RENEWAL_AFTER_HOURS": "12",
        "MICROSOFT_NOT_A_SETTING": "ignored",
    }
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    overrides = mail_providers.mail_providers(environ, local_enabled=False)
    assert overrides["microsoft"] == {"TOKEN_URL": "https://login.example.test/token"}
    assert overrides["gmail"] == {"RATE_LIMIT": 5}
    assert overrides["imap"] == {"RENEWAL_AFTER_HOURS": 12}
    settings.MAIL_PROVIDERS = overrides
    microsoft = get_provider("microsoft")
    assert microsoft.values["TOKEN_URL"] == "https://login.example.test/token"
    assert microsoft.values["AUTHORIZE_URL"] == "https://login.microsoftonline.com/common/oauth2/v2.0/authorize"
    assert (get_provider("gmail").rate_limit, get_provider("gmail").token_disuse_days) == (5, 180)
    assert get_provider("imap").renewal_after_hours == 12
