"""config/settings.py reads the environment and refuses bad values loudly."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION_ENV = {
    "DEBUG": "0",
    "TESTING": "0",
    "SECRET_KEY": "a-long-private-production-secret-key-with-plenty-of-entropy-0123456789abcdef",
    "ALLOWED_HOSTS": "inbox.example.com",
    "SITE_URL": "https://inbox.example.com",
    "DATABASE_URL": "sqlite:////tmp/prod-check.sqlite3",
    "CREDENTIALS_KEYS": "yTzXB5f8YkV0oPq3tR9wJ2hN6mLcA1sD4gE7iK0uZxQ=",
}


def _manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    ours = {"DEBUG", "TESTING", "SECRET_KEY", "SITE_URL", "DATABASE_URL", "REDIS_URL"}
    clean = {k: v for k, v in os.environ.items() if k not in ours}
    clean["DJANGO_SETTINGS_MODULE"] = "config.settings"
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env={**clean, **env}, capture_output=True, text=True
    )


def test_production_settings_pass_check_deploy():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize("name", ["SECRET_KEY", "SITE_URL"])
def test_a_required_value_stops_start_up_when_debug_is_off(name):
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != name}
    result = _manage("check", env=env)
    assert result.returncode != 0
    assert name in result.stderr


def test_hsts_covers_subdomains_and_preloading_only_when_asked():
    names = "settings.SECURE_HSTS_SECONDS, settings.SECURE_HSTS_INCLUDE_SUBDOMAINS, settings.SECURE_HSTS_PRELOAD"
    assert _print_settings(names, PRODUCTION_ENV) == "31536000 False False"
    both = {**PRODUCTION_ENV, "SECURE_HSTS_INCLUDE_SUBDOMAINS": "1", "SECURE_HSTS_PRELOAD": "1"}
    assert _print_settings(names, both) == "31536000 True True"
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=both)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DEBUG", "maybe"),
        ("CREDENTIALS_KEYS", "not-a-key"),
        ("DATABASE_URL", "nosuchdb://x"),
        ("Q_WORKERS", "lots"),
        ("EMAIL_PORT", "0"),
        ("IMAP_LOGIN_ATTEMPTS", "0"),
        ("ALLAUTH_TRUSTED_PROXY_COUNT", "one"),
        ("SITE_URL", "inbox.example.com"),
        ("SECURE_HSTS_PRELOAD", "sure"),
        ("MICROSOFT_CLIENT_SECRET_EXPIRES", "next spring"),
        ("METRICS_TOKEN", "too-short"),
    ],
)
def test_bad_values_stop_start_up_naming_the_variable(name, value):
    result = _manage("check", env={**PRODUCTION_ENV, name: value})
    assert result.returncode != 0
    assert name in result.stderr


def test_redis_url_switches_the_task_broker():
    code = "from django.conf import settings; print(settings.Q_CLUSTER.get('redis'), settings.Q_CLUSTER.get('orm'))"
    result = _manage("shell", "-c", code, env={**PRODUCTION_ENV, "REDIS_URL": "redis://127.0.0.1:6379/3"})
    assert result.stdout.split()[-2:] == ["redis://127.0.0.1:6379/3", "None"]
    result = _manage("shell", "-c", code, env=PRODUCTION_ENV)
    assert result.stdout.split()[-2:] == ["None", "default"]


def _print_settings(expression: str, env: dict[str, str]) -> str:
    result = _manage("shell", "-c", f"from django.conf import settings; print({expression})", env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_rate_limits_count_in_a_cache_every_process_shares():
    backend = "settings.CACHES['default']['BACKEND'], settings.CACHES['default']['LOCATION']"
    assert _print_settings(backend, PRODUCTION_ENV) == "django.core.cache.backends.db.DatabaseCache django_cache"
    with_redis = {**PRODUCTION_ENV, "REDIS_URL": "redis://127.0.0.1:6379/3"}
    assert (
        _print_settings(backend, with_redis) == "django.core.cache.backends.redis.RedisCache redis://127.0.0.1:6379/3"
    )


def test_sign_in_limits_count_client_addresses_behind_a_trusted_proxy():
    names = "settings.ALLAUTH_TRUSTED_PROXY_COUNT, settings.ALLAUTH_TRUSTED_CLIENT_IP_HEADER"
    assert _print_settings(names, PRODUCTION_ENV) == "0 None"
    assert _print_settings(names, {**PRODUCTION_ENV, "ALLAUTH_TRUSTED_PROXY_COUNT": "1"}) == "1 None"
    header = {**PRODUCTION_ENV, "ALLAUTH_TRUSTED_CLIENT_IP_HEADER": "X-Real-IP"}
    assert _print_settings(names, header) == "0 X-Real-IP"


def test_production_connects_only_to_public_imap_servers_on_the_usual_ports():
    shown = "from django.conf import settings; print(settings.IMAP_ALLOWED_NETWORKS, settings.IMAP_ALLOWED_PORTS)"
    result = _manage("shell", "-c", shown, env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[] [143, 993]"


@pytest.mark.parametrize(
    ("name", "value"),
    [("IMAP_ALLOWED_NETWORKS", "10.0.0.1/8"), ("IMAP_ALLOWED_NETWORKS", "intranet"), ("IMAP_ALLOWED_PORTS", "imaps")],
)
def test_bad_imap_network_settings_stop_start_up_naming_the_variable(name, value):
    result = _manage("check", env={**PRODUCTION_ENV, name: value})
    assert result.returncode != 0
    assert name in result.stderr


@pytest.mark.parametrize("value", ["emulator", "none"])
def test_unsigned_gmail_pushes_are_refused_in_production(value):
    result = _manage("check", env={**PRODUCTION_ENV, "GMAIL_PUSH_VERIFY": value})
    assert result.returncode != 0
    assert "GMAIL_PUSH_VERIFY" in result.stderr


def test_emulator_pushes_are_allowed_in_development():
    result = _manage("check", env={**PRODUCTION_ENV, "DEBUG": "1", "GMAIL_PUSH_VERIFY": "emulator"})
    assert result.returncode == 0, result.stderr


def test_a_client_secret_expiry_is_read_as_a_date():
    expires = "settings.MAIL_PROVIDERS['microsoft'].get('CLIENT_SECRET_EXPIRES')"
    assert _print_settings(expires, {**PRODUCTION_ENV, "MICROSOFT_CLIENT_SECRET_EXPIRES": "2027-03-31"}) == "2027-03-31"
    assert _print_settings(expires, PRODUCTION_ENV) == "None"
