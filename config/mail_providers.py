"""Mail provider endpoints: the real ones by default, each overridable from the environment.

`GMAIL_AUTHORIZE_URL=http://127.0.0.1:8765/o/authorize/` and friends point the
Gmail module at any compatible server; the local stand-in is configured the same
way under the "local" key.
"""

from typing import Any

from config.env import env_bool, env_int, env_str

GMAIL = {
    "AUTHORIZE_URL": "https://accounts.google.com/o/oauth2/v2/auth",
    "TOKEN_URL": "https://oauth2.googleapis.com/token",
    "USERINFO_URL": "https://openidconnect.googleapis.com/v1/userinfo",
    "SCOPES": "https://mail.google.com/ openid email",
    "IMAP_HOST": "imap.gmail.com",
    "IMAP_PORT": 993,
    "IMAP_SSL": True,
    # offline access returns a refresh token; consent makes Google issue a new one
    # on every reauthorization; select_account shows the account chooser.
    "AUTHORIZE_PARAMS": {"access_type": "offline", "prompt": "select_account consent"},
}

MICROSOFT = {
    "AUTHORIZE_URL": "https://login.microsoftonline.com/common/oauth2/v2.0/authorize",
    "TOKEN_URL": "https://login.microsoftonline.com/common/oauth2/v2.0/token",
    "USERINFO_URL": "",
    "SCOPES": "openid email offline_access https://outlook.office.com/IMAP.AccessAsUser.All",
    "IMAP_HOST": "outlook.office365.com",
    "IMAP_PORT": 993,
    "IMAP_SSL": True,
    # Microsoft accepts a single prompt value.
    "AUTHORIZE_PARAMS": {"prompt": "select_account"},
}


def provider_settings(prefix: str, defaults: dict[str, Any]) -> dict[str, Any]:
    return {
        "CLIENT_ID": env_str(f"{prefix}_CLIENT_ID", ""),
        "CLIENT_SECRET": env_str(f"{prefix}_CLIENT_SECRET", ""),
        "AUTHORIZE_URL": env_str(f"{prefix}_AUTHORIZE_URL", defaults["AUTHORIZE_URL"]),
        "TOKEN_URL": env_str(f"{prefix}_TOKEN_URL", defaults["TOKEN_URL"]),
        "USERINFO_URL": env_str(f"{prefix}_USERINFO_URL", defaults["USERINFO_URL"]),
        "SCOPES": env_str(f"{prefix}_SCOPES", defaults["SCOPES"]).split(),
        "IMAP_HOST": env_str(f"{prefix}_IMAP_HOST", defaults["IMAP_HOST"]),
        "IMAP_PORT": env_int(f"{prefix}_IMAP_PORT", defaults["IMAP_PORT"], minimum=1),
        "IMAP_SSL": env_bool(f"{prefix}_IMAP_SSL", defaults["IMAP_SSL"]),
        "AUTHORIZE_PARAMS": defaults["AUTHORIZE_PARAMS"],
    }


def local_settings() -> dict[str, Any]:
    """The stand-in on loopback; its ports and secret are the same variables localprovider/ reads."""
    base = f"http://127.0.0.1:{env_int('LOCAL_PROVIDER_HTTP_PORT', 8765, minimum=1)}"
    return {
        "CLIENT_ID": env_str("LOCAL_PROVIDER_CLIENT_ID", "channels-app"),
        "CLIENT_SECRET": env_str("LOCAL_PROVIDER_CLIENT_SECRET", "local-dev-secret"),
        "AUTHORIZE_URL": f"{base}/o/authorize/",
        "TOKEN_URL": f"{base}/o/token/",
        "USERINFO_URL": f"{base}/userinfo",
        "SCOPES": ["imap"],
        "IMAP_HOST": "127.0.0.1",
        "IMAP_PORT": env_int("LOCAL_PROVIDER_IMAP_PORT", 14143, minimum=1),
        "IMAP_SSL": False,
        "AUTHORIZE_PARAMS": {"prompt": "consent"},
    }
