"""Overrides of the mail providers' own values, read from the environment.

Each provider's package (channels_app/providers/<kind>/provider.py) holds its real endpoints,
scopes and policies; here only what the environment overrides is read: `<KIND>_<NAME>`, e.g.
`GMAIL_CLIENT_ID`, `MICROSOFT_TOKEN_URL`, `IMAP_RATE_LIMIT`. The kinds are the provider packages
found on disk, so a new provider needs no line here.

Local mail (localprovider/) can stand in for Gmail and Microsoft 365 in development and tests:
`LOCAL_PROVIDER_STANDS_IN=gmail,microsoft` points those modules at it, unless their client id is set.
"""

from collections.abc import Callable
from pathlib import Path
from typing import Any

from config.env import env_bool, env_date, env_int, env_list, env_str

# Plain data without Django or third-party imports: the defaults Local mail itself starts with.
from localprovider.instance import DEFAULT_CLIENT_SECRET, DEFAULT_HTTP_PORT, DEFAULT_IMAP_PORT, MAIN_CLIENT_ID

PROVIDERS_DIR = Path(__file__).resolve().parent.parent / "channels_app" / "providers"
KINDS = sorted(path.name for path in PROVIDERS_DIR.iterdir() if (path / "provider.py").exists())


# The service account Local mail's push subscriptions sign as, unless told another.
LOCAL_PUSH_SERVICE_ACCOUNT = "gmail-push@local-mail.iam.gserviceaccount.test"


def _scopes(name: str) -> list[str]:
    return env_str(name).split()


# Every value a provider module lets settings override, and how its variable is read.
OVERRIDABLE: dict[str, Callable[[str], Any]] = {
    "CLIENT_ID": env_str,
    "CLIENT_SECRET": env_str,
    # When the client secret stops working (Microsoft's expire after at most 24 months): the Channel
    # health page shows it among what expires next.
    "CLIENT_SECRET_EXPIRES": env_date,
    "AUTHORIZE_URL": env_str,
    "TOKEN_URL": env_str,
    "USERINFO_URL": env_str,
    "REVOKE_URL": env_str,
    "JWKS_URL": env_str,
    "ISSUER": env_str,
    "SCOPES": _scopes,
    "IMAP_HOST": env_str,
    "IMAP_PORT": lambda name: env_int(name, 993, minimum=1),
    "IMAP_SSL": lambda name: env_bool(name, True),
    "RATE_LIMIT": lambda name: env_int(name, 20, minimum=0),
    "RENEWAL_AFTER_HOURS": lambda name: env_int(name, 24, minimum=1),
    "TOKEN_DISUSE_DAYS": lambda name: env_int(name, 90, minimum=1),
    "TESTING_MODE": lambda name: env_bool(name, False),
    "DAILY_DOWNLOAD_BYTES": lambda name: env_int(name, 0, minimum=0),
    "GRAPH_URL": env_str,
    # Microsoft's token endpoint of a tenant, `{tenant}` in its place: organisation connections' app tokens.
    "APP_TOKEN_URL": env_str,
    # Gmail push notifications (channels_app/providers/gmail/push.py).
    "API_URL": env_str,
    "PUBSUB_TOPIC": env_str,
    "WATCH_LABEL_IDS": env_str,
    "PUSH_VERIFY": env_str,
    "PUSH_AUDIENCE": env_str,
    "PUSH_SERVICE_ACCOUNT": env_str,
    "PUSH_JWKS_URL": env_str,
    "PUSH_ISSUER": env_str,
}


def overrides(kind: str, environ: dict[str, str]) -> dict[str, Any]:
    prefix = kind.upper()
    return {key: read(f"{prefix}_{key}") for key, read in OVERRIDABLE.items() if f"{prefix}_{key}" in environ}


def local_endpoints(kind: str) -> dict[str, Any]:
    """Local mail's endpoints, answering as the persona of `kind` (its own plain OAuth for "local")."""
    base = f"http://127.0.0.1:{env_int('LOCAL_PROVIDER_HTTP_PORT', DEFAULT_HTTP_PORT, minimum=1)}"
    values: dict[str, Any] = {
        "CLIENT_ID": env_str("LOCAL_PROVIDER_CLIENT_ID", MAIN_CLIENT_ID),
        "CLIENT_SECRET": env_str("LOCAL_PROVIDER_CLIENT_SECRET", DEFAULT_CLIENT_SECRET),
        "AUTHORIZE_URL": f"{base}/o/authorize/",
        "TOKEN_URL": f"{base}/o/token/",
        "USERINFO_URL": f"{base}/userinfo",
        "JWKS_URL": f"{base}/o/.well-known/jwks.json",
        "IMAP_HOST": "127.0.0.1",
        "IMAP_PORT": env_int("LOCAL_PROVIDER_IMAP_PORT", DEFAULT_IMAP_PORT, minimum=1),
        "IMAP_SSL": False,
    }
    if kind == "local":
        values["REVOKE_URL"] = f"{base}/o/revoke_token/"
    elif kind == "gmail":
        values.update(REVOKE_URL=f"{base}/revoke", ISSUER=base)
        # Local mail serves Gmail's watch, stop and history and pushes as Pub/Sub does, signed with its own
        # keys (localprovider/pubsub.py). Push stays off until GMAIL_PUBSUB_TOPIC names a topic.
        values.update(
            API_URL=base,
            PUSH_JWKS_URL=f"{base}/o/.well-known/jwks.json",
            PUSH_ISSUER=base,
            PUSH_SERVICE_ACCOUNT=LOCAL_PUSH_SERVICE_ACCOUNT,
        )
    elif kind == "microsoft":
        values.update(ISSUER=f"{base}/{{tenantid}}/v2.0", USERINFO_URL="", GRAPH_URL=f"{base}/graph/v1.0")
        # Local mail's tenants' token endpoints (localprovider/organisation_admin.entra_token_url).
        values["APP_TOKEN_URL"] = f"{base}/{{tenant}}/oauth2/v2.0/token"
    return values


def mail_providers(environ: dict[str, str], *, local_enabled: bool) -> dict[str, dict[str, Any]]:
    stands_in = set(env_list("LOCAL_PROVIDER_STANDS_IN", ["gmail", "microsoft"] if local_enabled else []))
    result: dict[str, dict[str, Any]] = {}
    for kind in KINDS:
        values: dict[str, Any] = {}
        if kind == "local" or (local_enabled and kind in stands_in and f"{kind.upper()}_CLIENT_ID" not in environ):
            values.update(local_endpoints(kind))
        values.update(overrides(kind, environ))
        result[kind] = values
    return result
