"""Standalone Django settings of the local provider (DJANGO_SETTINGS_MODULE=localprovider.settings).

This is a different server from the main app, as Google is: its own database in the instance
directory, its own users (mailbox accounts named by their full address) and its own cookies.
Values come from the environment that `localprovider.control` passes to its subprocesses.
"""

import os
import secrets
from pathlib import Path

from jwcrypto import jwk

from localprovider import scopes
from localprovider.instance import ADMIN_SECRET_FILE, DEFAULT_HTTP_PORT, instance_secret

REPO_DIR = Path(__file__).resolve().parent.parent
INSTANCE_DIR = Path(os.environ.get("LOCAL_PROVIDER_DIR") or REPO_DIR / ".testbed" / "dev").resolve()
HTTP_PORT = int(os.environ.get("LOCAL_PROVIDER_HTTP_PORT") or DEFAULT_HTTP_PORT)
# The issuer of our ID tokens: the main app's settings point at it instead of https://accounts.google.com.
BASE_URL = f"http://127.0.0.1:{HTTP_PORT}"


def _new_signing_key() -> str:
    return jwk.JWK.generate(kty="RSA", size=2048).export_to_pem(private_key=True, password=None).decode()


# Per-instance secrets made once and kept 0600 in the instance dir, so none lives in the source.
SECRET_KEY = instance_secret(INSTANCE_DIR / "secret-key", lambda: secrets.token_urlsafe(50))
# The bearer secret of the admin endpoint (control_endpoint.py); control.py reads the same file.
ADMIN_SECRET = instance_secret(INSTANCE_DIR / ADMIN_SECRET_FILE)
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "oauth2_provider",
    "localprovider",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "localprovider.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": INSTANCE_DIR / "provider.sqlite3",
        # runserver is threaded: token requests and control's admin calls write at the same time. A
        # transaction that read first and then wants to write gets "database is locked" at once
        # (SQLite's deadlock rule) however long the timeout; IMMEDIATE takes the write lock at BEGIN,
        # so writers queue for up to `timeout` seconds instead.
        "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE"},
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Mailbox passwords are kept in plain text in Dovecot's passwd-file anyway (loopback test double), so a
# slow hash would only cost ~0.5 s per sign-in in the tests without protecting anything.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Browsers do not scope cookies by port: without distinct names, signing in here on 127.0.0.1:8765
# would overwrite the main app's session cookie on 127.0.0.1:8000 (and another instance's).
SESSION_COOKIE_NAME = f"localprovider{HTTP_PORT}_session"
CSRF_COOKIE_NAME = f"localprovider{HTTP_PORT}_csrftoken"

LOGIN_URL = "/signin/"
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True
STATIC_URL = "static/"

OAUTH2_PROVIDER = {
    "SCOPES": scopes.DESCRIPTIONS,
    "DEFAULT_SCOPES": ["imap"],
    # Tests shorten this to exercise refresh; the default mirrors Google's one hour.
    "ACCESS_TOKEN_EXPIRE_SECONDS": int(os.environ.get("LOCAL_PROVIDER_ACCESS_TOKEN_SECONDS") or 3600),
    "REFRESH_TOKEN_EXPIRE_SECONDS": 30 * 24 * 3600,
    "ROTATE_REFRESH_TOKEN": True,
    "PKCE_REQUIRED": True,
    # Always show the consent page, whatever approval_prompt the client sends (like prompt=consent).
    "REQUEST_APPROVAL_PROMPT": "force",
    # RFC 8252: DOT already accepts any port on http://127.0.0.1/ and http://[::1]/ redirect URIs; this
    # extends that to http://localhost/, so the main app's runserver port does not need registering.
    "ALLOW_LOCALHOST_LOOPBACK": True,
    # OpenID Connect: a signed id_token for scope openid, the JWKS at /o/.well-known/jwks.json.
    "OIDC_ENABLED": True,
    "OIDC_RSA_PRIVATE_KEY": instance_secret(INSTANCE_DIR / "oidc-signing-key.pem", _new_signing_key),
    "OIDC_ISS_ENDPOINT": BASE_URL,
    # Google's and Microsoft's ID tokens last an hour.
    "ID_TOKEN_EXPIRE_SECONDS": 3600,
    # Claims, refresh-token rotation and the answer's scope wording follow the mailbox's persona.
    "OAUTH2_VALIDATOR_CLASS": "localprovider.validator.PersonaValidator",
}

# With DEBUG off Django sends server errors only to mail_admins; print them into the instance's log.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "django.request": {"handlers": ["console"], "level": "ERROR"},
        # token_views.py: a line per token request naming the mailbox, for counting them per account.
        "localprovider.tokens": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}
