"""Credentials encrypted at rest, with key rotation.

Keys come from CREDENTIALS_KEYS (comma-separated Fernet keys, newest first):
new ciphertext uses the first key, every listed key can still decrypt, and
`manage.py rotate_credentials` re-encrypts everything under the first key so
an old key can then be dropped from the list.
"""

import base64
import hashlib
import json
from functools import cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.views.decorators.debug import sensitive_variables


class CredentialsUnreadable(Exception):
    """The ciphertext was made with a key that is no longer configured."""


def _dev_key() -> bytes:
    # Only with DEBUG or TESTING: a stable key derived from the dev SECRET_KEY.
    return base64.urlsafe_b64encode(hashlib.sha256(f"credentials:{settings.SECRET_KEY}".encode()).digest())


@cache
def _fernet() -> MultiFernet:
    raw_keys: list[str] = list(settings.CREDENTIALS_KEYS)
    if not raw_keys:
        if not (settings.DEBUG or settings.TESTING):
            raise ImproperlyConfigured("CREDENTIALS_KEYS must be set when DEBUG is off.")
        return MultiFernet([Fernet(_dev_key())])
    try:
        return MultiFernet([Fernet(key.encode()) for key in raw_keys])
    except ValueError:
        raise ImproperlyConfigured(
            "CREDENTIALS_KEYS must be Fernet keys (generate one with `manage.py generate_credentials_key`)."
        ) from None


def reset_keys() -> None:
    """Forget cached keys (tests that change CREDENTIALS_KEYS call this)."""
    _fernet.cache_clear()


@sensitive_variables("data")
def encrypt_json(data: dict[str, Any]) -> str:
    return _fernet().encrypt(json.dumps(data, separators=(",", ":")).encode()).decode()


def decrypt_json(ciphertext: str) -> dict[str, Any]:
    if not ciphertext:
        return {}
    try:
        return json.loads(_fernet().decrypt(ciphertext.encode()))
    except InvalidToken:
        raise CredentialsUnreadable(
            "The stored credentials were encrypted with a key that is not configured."
        ) from None


def rotate(ciphertext: str) -> str:
    """Re-encrypt under the newest key."""
    if not ciphertext:
        return ciphertext
    try:
        return _fernet().rotate(ciphertext.encode()).decode()
    except InvalidToken:
        raise CredentialsUnreadable(
            "The stored credentials were encrypted with a key that is not configured."
        ) from None


def generate_key() -> str:
    return Fernet.generate_key().decode()
