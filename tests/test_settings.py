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
    "DATABASE_URL": "sqlite:////tmp/prod-check.sqlite3",
    "CREDENTIALS_KEYS": "yTzXB5f8YkV0oPq3tR9wJ2hN6mLcA1sD4gE7iK0uZxQ=",
}


def _manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v for k, v in os.environ.items() if k not in {"DEBUG", "TESTING", "SECRET_KEY", "DATABASE_URL", "REDIS_URL"}
    }
    clean["DJANGO_SETTINGS_MODULE"] = "config.settings"
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env={**clean, **env}, capture_output=True, text=True
    )


def test_production_settings_pass_check_deploy():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_secret_key_is_required_when_debug_is_off():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "SECRET_KEY"}
    result = _manage("check", env=env)
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DEBUG", "maybe"),
        ("CREDENTIALS_KEYS", "not-a-key"),
        ("DATABASE_URL", "nosuchdb://x"),
        ("Q_WORKERS", "lots"),
        ("EMAIL_PORT", "0"),
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
