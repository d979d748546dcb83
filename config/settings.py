"""Settings read from the environment.

Every value that differs between a laptop and production comes from an
environment variable; a bad value stops start-up with a message naming it.
Production needs at least: DEBUG=0, SECRET_KEY, ALLOWED_HOSTS, SITE_URL, DATABASE_URL,
CREDENTIALS_KEYS (see README "Deploying").
"""

import base64
import ipaddress
import os
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config import mail_providers
from config.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", False)
TESTING = env_bool("TESTING", False)

_DEV_SECRET = "dev-only-insecure-secret-key-do-not-use-in-production-0123456789"
SECRET_KEY = env_str("SECRET_KEY", _DEV_SECRET if (DEBUG or TESTING) else None)
if not (DEBUG or TESTING) and SECRET_KEY == _DEV_SECRET:
    raise ImproperlyConfigured("SECRET_KEY must be set to a private value when DEBUG is off.")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if (DEBUG or TESTING) else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
# The address alert emails link to: without it in production they would point at a laptop.
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000" if (DEBUG or TESTING) else None).rstrip("/")
if urlsplit(SITE_URL).scheme not in {"http", "https"} or not urlsplit(SITE_URL).netloc:
    raise ImproperlyConfigured(f"SITE_URL={SITE_URL!r} is not an address like https://inbox.example.com.")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "django_q",
    "channels_app",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "channels_app.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "channels_app.time_zones.TimeZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

try:
    DATABASES = {
        "default": dj_database_url.parse(
            env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
            conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0),
        )
    }
except ValueError as exc:
    raise ImproperlyConfigured(f"DATABASE_URL is not a database URL Django understands: {exc}") from None
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Background workers and the web process share one file: wait for locks
    # instead of failing, and take the write lock at BEGIN so two writers
    # never deadlock upgrading read locks.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )

AUTH_USER_MODEL = "channels_app.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if TESTING:
    # Hashing with PBKDF2 dominates test time; tests do not test hashing.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# django-allauth: sign in with email and password; accounts are created by
# admins (invitations are out of scope), so open sign-up is off.
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*"]
# Nobody verifies addresses, so people cannot change theirs: allauth's email management page is
# replaced by one that says so (config/urls.py, channels_app/views/account.py); staff change them.
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_ADAPTER = "channels_app.auth_adapter.NoSignupAccountAdapter"
# Company sign-in: a company admin points their email domains at their OpenID Connect identity provider
# (channels_app/services/company_sign_in.py). allauth's apps come from those settings, never from its
# SocialApp table; only people who already have an account sign in (nobody is created), and no
# provider token is kept.
SOCIALACCOUNT_ADAPTER = "channels_app.auth_adapter.CompanySignInAdapter"
SOCIALACCOUNT_STORE_TOKENS = False
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False
SOCIALACCOUNT_AUTO_SIGNUP = False
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"
# allauth limits sign-in attempts per client address (ACCOUNT_RATE_LIMITS; failed ones also per
# account). Behind a load balancer every request comes from the balancer: trust the last N addresses
# it appends to X-Forwarded-For, or a header it sets to the client's address (X-Real-IP, CF-Connecting-IP).
ALLAUTH_TRUSTED_PROXY_COUNT = env_int("ALLAUTH_TRUSTED_PROXY_COUNT", 0)
ALLAUTH_TRUSTED_CLIENT_IP_HEADER = env_str("ALLAUTH_TRUSTED_CLIENT_IP_HEADER", "") or None

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if (DEBUG or TESTING)
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
# In development and tests serve files straight from static/, with no collectstatic step.
WHITENOISE_USE_FINDERS = DEBUG or TESTING
WHITENOISE_AUTOREFRESH = DEBUG or TESTING
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
# Seconds before an unanswering mail server counts as down; its emails are then retried later.
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10, minimum=1)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Shared Inbox <alerts@localhost>")
SUPPORT_EMAIL = env_str("SUPPORT_EMAIL", "support@localhost")

# Fernet keys for credentials at rest, newest first (see channels_app/crypto.py).
CREDENTIALS_KEYS = env_list("CREDENTIALS_KEYS", [])
if not (DEBUG or TESTING) and not CREDENTIALS_KEYS:
    raise ImproperlyConfigured("CREDENTIALS_KEYS must be set when DEBUG is off (manage.py generate_credentials_key).")
for _key in CREDENTIALS_KEYS:
    try:
        if len(base64.urlsafe_b64decode(_key.encode())) != 32:
            raise ValueError
    except ValueError:
        raise ImproperlyConfigured("CREDENTIALS_KEYS holds a value that is not a Fernet key.") from None

# The stand-in provider on loopback: on in development and tests, off in production.
LOCAL_PROVIDER_ENABLED = env_bool("LOCAL_PROVIDER_ENABLED", DEBUG or TESTING)
if LOCAL_PROVIDER_ENABLED:
    # The stand-in speaks plain http on loopback; oauthlib refuses that unless told.
    # Real providers are https, so this never weakens them.
    os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")
# Mail providers: each provider package holds its real values; the environment overrides them
# (config/mail_providers.py), and Local mail stands in for Gmail and Microsoft where it is enabled.
MAIL_PROVIDERS = mail_providers.mail_providers(dict(os.environ), local_enabled=LOCAL_PROVIDER_ENABLED)
# Gmail push (GMAIL_PUBSUB_TOPIC and friends, see channels_app/providers/gmail/push.py): the Pub/Sub emulator
# sends pushes without a token, so GMAIL_PUSH_VERIFY=emulator is refused outside development and tests.
if MAIL_PROVIDERS["gmail"].get("PUSH_VERIFY", "oidc") not in ("oidc", "emulator"):
    raise ImproperlyConfigured("GMAIL_PUSH_VERIFY must be oidc or emulator.")
if MAIL_PROVIDERS["gmail"].get("PUSH_VERIFY") == "emulator" and not (DEBUG or TESTING):
    raise ImproperlyConfigured("GMAIL_PUSH_VERIFY=emulator accepts unsigned pushes: only with DEBUG or in tests.")
# A channel whose provider push is healthy (a Gmail watch, a live Graph subscription) is still polled, this
# often, as a safety net; one with a healthy IDLE is not polled at all (selectors.due.channels_to_sync).
PUSH_POLL_INTERVAL_SECONDS = env_int("PUSH_POLL_INTERVAL_SECONDS", 600, minimum=60)
# A Gmail watch or Graph subscription that announced nothing for this long while polls found new mail
# is reported to staff (services/push_silence.py).
PUSH_SILENCE_MINUTES = env_int("PUSH_SILENCE_MINUTES", 60, minimum=1)
OAUTH_HTTP_TIMEOUT_SECONDS = env_int("OAUTH_HTTP_TIMEOUT_SECONDS", 15, minimum=1)
# allauth's requests to a company's identity provider (discovery, token, userinfo, keys) wait as long.
SOCIALACCOUNT_REQUESTS_TIMEOUT = OAUTH_HTTP_TIMEOUT_SECONDS
# How long a started OAuth round trip may take before its state expires.
OAUTH_STATE_MAX_AGE_SECONDS = env_int("OAUTH_STATE_MAX_AGE_SECONDS", 600, minimum=30)

# IMAP connections (channels_app/providers/imap_network.py). A server someone names on the Add channel
# form is resolved once and refused on loopback, private, link-local, multicast and reserved networks
# unless one is listed here, and only on the usual IMAP ports unless more are listed. Development and
# tests add loopback and the local provider's port.
IMAP_TIMEOUT_SECONDS = env_int("IMAP_TIMEOUT_SECONDS", 30, minimum=1)
# Connecting, the greeting, TLS and the login together, however the server paces its bytes.
IMAP_LOGIN_DEADLINE_SECONDS = env_int("IMAP_LOGIN_DEADLINE_SECONDS", 30, minimum=1)
try:
    IMAP_ALLOWED_NETWORKS = [
        ipaddress.ip_network(network)
        for network in env_list("IMAP_ALLOWED_NETWORKS", ["127.0.0.0/8", "::1/128"] if (DEBUG or TESTING) else [])
    ]
except ValueError as exc:
    raise ImproperlyConfigured(f"IMAP_ALLOWED_NETWORKS holds a value that is not a network (CIDR): {exc}") from None
_local_imap_ports = [str(MAIL_PROVIDERS["local"]["IMAP_PORT"])] if LOCAL_PROVIDER_ENABLED else []
IMAP_ALLOWED_PORTS: list[int] = []
for _port in env_list("IMAP_ALLOWED_PORTS", ["143", "993", *_local_imap_ports]):
    if not _port.isdigit() or not 0 < int(_port) < 65536:
        raise ImproperlyConfigured(f"IMAP_ALLOWED_PORTS holds {_port!r}, which is not a port number.")
    IMAP_ALLOWED_PORTS.append(int(_port))

# Health and sync (channels_app/services/health.py, sync.py, tasks.py). Minutes unless named otherwise.
SYNC_INTERVAL_MINUTES = env_int("SYNC_INTERVAL_MINUTES", 1, minimum=1)
PROBE_INTERVAL_MINUTES = env_int("PROBE_INTERVAL_MINUTES", 15, minimum=1)
# While a channel needs reauthorization it is logged into only this often, to notice access coming back.
SLOW_CHECK_MINUTES = env_int("SLOW_CHECK_MINUTES", 60, minimum=1)
# A passing failure shows the channel as unreachable only after lasting this long.
UNREACHABLE_GRACE_MINUTES = env_int("UNREACHABLE_GRACE_MINUTES", 30, minimum=0)
BACKOFF_BASE_SECONDS = env_int("BACKOFF_BASE_SECONDS", 30, minimum=1)
BACKOFF_MAX_SECONDS = env_int("BACKOFF_MAX_SECONDS", 900, minimum=1)
# Keep-alive refreshes tokens this long after their last refresh; far inside
# Google's 6 months and Microsoft's 90 days of allowed disuse.
KEEPALIVE_AFTER_HOURS = env_int("KEEPALIVE_AFTER_HOURS", 24 * 7, minimum=1)
TOKEN_REFRESH_MARGIN_SECONDS = env_int("TOKEN_REFRESH_MARGIN_SECONDS", 300, minimum=0)
# The scheduled passes queue one task per this many due channels.
FANOUT_BATCH_SIZE = env_int("FANOUT_BATCH_SIZE", 10, minimum=1)
# Short, and renewed between the steps of a long job: a crashed worker frees its channel within a minute.
CHANNEL_LEASE_SECONDS = env_int("CHANNEL_LEASE_SECONDS", 60, minimum=10)
SYNC_BATCH_SIZE = env_int("SYNC_BATCH_SIZE", 1000, minimum=1)
# A batch also stops at this many bytes, so memory stays flat with large messages.
SYNC_BATCH_BYTES = env_int("SYNC_BATCH_BYTES", 16 * 1024 * 1024, minimum=1024)
# A new channel imports the mail that arrived in the last this many days (0: everything); Add channel
# offers other choices.
FIRST_IMPORT_DAYS = env_int("FIRST_IMPORT_DAYS", 30, minimum=0)
# Folders not imported, by RFC 6154 special use, and by name on servers that mark none.
SYNC_SKIP_SPECIAL_USE = env_list("SYNC_SKIP_SPECIAL_USE", ["\\Junk", "\\Trash"])
SYNC_SKIP_FOLDER_NAMES = env_list(
    "SYNC_SKIP_FOLDER_NAMES",
    ["Junk", "Spam", "Trash", "Junk E-mail", "Junk Email", "Deleted Items", "Deleted Messages"],
)
BACKFILL_WAIT_SECONDS = env_int("BACKFILL_WAIT_SECONDS", 120, minimum=0)
# Microsoft Graph change notifications (services/graph_push.py): on unless turned off; the suite turns them
# on per test (Graph must reach SITE_URL to validate it). Subscriptions last this many minutes.
GRAPH_NOTIFICATIONS = env_bool("GRAPH_NOTIFICATIONS", not TESTING)
GRAPH_SUBSCRIPTION_MINUTES = env_int("GRAPH_SUBSCRIPTION_MINUTES", 4230, minimum=45)
# How long a notification's sync waits for a sync already running on the channel (a poll) to finish.
PUSH_SYNC_WAIT_SECONDS = env_int("PUSH_SYNC_WAIT_SECONDS", 30, minimum=0)
# The IDLE listener (`manage.py listen`, channels_app/services/idle.py). RFC 2177 lets a server log off a
# client idle for 30 minutes: IDLE is ended and sent again before that.
IDLE_REISSUE_SECONDS = env_int("IDLE_REISSUE_SECONDS", 25 * 60, minimum=10)
# The listener signs in afresh this often (LOGOUT, login, the incremental sync over the new connection, IDLE):
# that login is the channel's credentials check (the probe pass skips it) and that sync its safety net
# (the poll pass skips a channel with a healthy IDLE). 25: under RFC 2177's 30 minutes, so the new
# connection's IDLE also replaces the re-issue; and about 59 logins a day, against the 1,441 of polling
# every minute (bench/new_mail.py: at least 20x fewer needs 21 minutes or more).
IDLE_RELOGIN_MINUTES = env_int("IDLE_RELOGIN_MINUTES", 25, minimum=1)
# A listener's hold on its channels, renewed every third of it: a dead listener's channels are taken over
# within it.
IDLE_LEASE_SECONDS = env_int("IDLE_LEASE_SECONDS", 90, minimum=15)
# Channels one listener claims per round (a round every third of the lease), and at most in all.
IDLE_CLAIM_BATCH = env_int("IDLE_CLAIM_BATCH", 100, minimum=1)
IDLE_MAX_CHANNELS = env_int("IDLE_MAX_CHANNELS", 2000, minimum=1)
# Threads that log in, re-issue IDLE and queue syncs; the idle connections themselves need none.
IDLE_WORKERS = env_int("IDLE_WORKERS", 8, minimum=1)
# Reconnecting after a dropped connection waits 1, 2, 4 … seconds, at most this long.
IDLE_RECONNECT_MAX_SECONDS = env_int("IDLE_RECONNECT_MAX_SECONDS", 300, minimum=1)
CHANNELS_PAGE_SIZE = env_int("CHANNELS_PAGE_SIZE", 50, minimum=1)
MESSAGES_PAGE_SIZE = env_int("MESSAGES_PAGE_SIZE", 50, minimum=1)
NOTIFICATIONS_PAGE_SIZE = env_int("NOTIFICATIONS_PAGE_SIZE", 50, minimum=1)
REPEATED_REAUTH_THRESHOLD = env_int("REPEATED_REAUTH_THRESHOLD", 3, minimum=1)
REPEATED_REAUTH_DAYS = env_int("REPEATED_REAUTH_DAYS", 30, minimum=1)
# Contact support (offered for a channel that keeps needing reauthorization): messages per person and channel.
SUPPORT_REQUESTS_PER_HOUR = env_int("SUPPORT_REQUESTS_PER_HOUR", 3, minimum=1)
# Reauthorization links (services/reauth_links.py): how long one works, and how many a person, or a
# channel, may send in an hour.
REAUTH_LINK_HOURS = env_int("REAUTH_LINK_HOURS", 72, minimum=1)
REAUTH_LINKS_PER_HOUR = env_int("REAUTH_LINKS_PER_HOUR", 10, minimum=1)

# django-q2: the Django ORM is the broker unless REDIS_URL names a Redis server.
REDIS_URL = env_str("REDIS_URL", "")
Q_CLUSTER: dict[str, object] = {
    "name": env_str("Q_CLUSTER_NAME", "channels"),
    "workers": env_int("Q_WORKERS", 2, minimum=1),
    "timeout": env_int("Q_TASK_TIMEOUT", 300, minimum=1),
    "retry": env_int("Q_TASK_RETRY", 360, minimum=2),
    "max_attempts": 3,
    "catch_up": False,
    "label": "Background tasks",
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"
Q_CLUSTER["retry"] = max(int(Q_CLUSTER["retry"]), int(Q_CLUSTER["timeout"]) + 1)  # type: ignore[call-overload]

# Rate limits (allauth's sign-in limits and channels_app/services/throttle.py) count in Django's cache,
# so every web process must share it: Redis with REDIS_URL, else a table in the database
# (`manage.py createcachetable`, on every deploy).
CACHES: dict[str, dict[str, object]]
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "django_cache",
            # A full table drops a third of its entries, counters with them: room for far more than a burst.
            "OPTIONS": {"MAX_ENTRIES": 100_000},
        }
    }
# Tries at an IMAP password through our forms, per person and per account, in a window of this many seconds.
IMAP_LOGIN_ATTEMPTS = env_int("IMAP_LOGIN_ATTEMPTS", 5, minimum=1)
IMAP_LOGIN_WINDOW_SECONDS = env_int("IMAP_LOGIN_WINDOW_SECONDS", 900, minimum=1)

# The Prometheus endpoint /metrics (channels_app/views/metrics.py): off (404) unless a token is set, which
# scrapes send as `Authorization: Bearer <token>`. prometheus_client also reads PROMETHEUS_MULTIPROC_DIR
# itself (README "Deploying", "Metrics").
METRICS_TOKEN = env_str("METRICS_TOKEN", "")
if METRICS_TOKEN and len(METRICS_TOKEN) < 32:
    raise ImproperlyConfigured("METRICS_TOKEN must be at least 32 characters (e.g. `openssl rand -hex 32`).")

# Production hardening, on whenever DEBUG is off (see `manage.py check --deploy`).
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not TESTING)
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not TESTING)
    CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not TESTING)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if TESTING else 31536000)
    # Both bind more than this app, for a year: every subdomain of the host must serve HTTPS, and a
    # preloaded domain takes months to leave browsers' lists. Off unless whoever owns the domain says so,
    # and then check --deploy's reminders about them (W005, W021) are that decision, not an oversight.
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
    SILENCED_SYSTEM_CHECKS = [
        *([] if SECURE_HSTS_INCLUDE_SUBDOMAINS else ["security.W005"]),
        *([] if SECURE_HSTS_PRELOAD else ["security.W021"]),
    ]
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Debug pages and error reports hide the database and Redis URLs too, and any password inside a URL.
DEFAULT_EXCEPTION_REPORTER_FILTER = "config.redaction.SecretsReporterFilter"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # Request lines and 4xx warnings carry OAuth callback URLs: their code, state and tokens are redacted.
    "filters": {"redact_urls": {"()": "config.redaction.RedactUrlParameters"}},
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.server": {"level": "WARNING", "filters": ["redact_urls"]},
        "django.request": {"filters": ["redact_urls"]},
        # Both log whole token responses and client secrets at DEBUG: never let them,
        # whatever LOG_LEVEL says.
        "requests_oauthlib": {"level": "WARNING"},
        "oauthlib": {"level": "WARNING"},
    },
}
