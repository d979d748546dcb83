"""Checking an OpenID Connect ID token before believing whose account it names.

The token comes straight from the token endpoint over TLS, but a wrong audience or issuer still
means it was not meant for us (OpenID Connect Core 1.0, 3.1.3.7): we check the signature against
the provider's published keys, `aud`, `iss` and `exp`, and only then read the claims.
"""

import json
import logging
import time
from collections.abc import Callable
from typing import Any

import requests
from django.conf import settings
from jwcrypto import jwk, jws, jwt
from jwcrypto.common import JWException, JWKeyNotFound

from channels_app.providers.base import ConfigurationFailure, PassingFailure

logger = logging.getLogger(__name__)

JWKS_CACHE_SECONDS = 3600
LEEWAY_SECONDS = 300


# Published keys per URL, with when they were fetched: in this process only (they are public, and a
# shared cache would cost a database or Redis round trip per sign-in to save one HTTP request an hour).
_KEYS: dict[str, tuple[float, str]] = {}


def _jwks(url: str, *, fresh: bool = False) -> jwk.JWKSet:
    cached = _KEYS.get(url)
    if fresh or cached is None or time.monotonic() - cached[0] > JWKS_CACHE_SECONDS:
        try:
            response = requests.get(url, timeout=settings.OAUTH_HTTP_TIMEOUT_SECONDS)
            response.raise_for_status()
            jwk.JWKSet.from_json(response.text)
        except (requests.RequestException, JWException, ValueError):
            raise PassingFailure("The provider's signing keys could not be fetched.", code="JWKS") from None
        cached = _KEYS[url] = (time.monotonic(), response.text)
    return jwk.JWKSet.from_json(cached[1])


def _invalid(what: str) -> ConfigurationFailure:
    return ConfigurationFailure(
        f"The provider's ID token did not check out ({what}): the app's client id or issuer setting is wrong.",
        code=f"id_token {what}",
    )


def _decode(id_token: str, keys: jwk.JWKSet, client_id: str) -> jwt.JWT:
    token = jwt.JWT(algs=["RS256"], check_claims={"exp": None, "aud": client_id}, expected_type="JWS")
    token.leeway = LEEWAY_SECONDS
    token.deserialize(id_token, keys)
    return token


def verified_claims(
    id_token: str, *, jwks_url: str, client_id: str, issuer_ok: Callable[[str, dict[str, Any]], bool]
) -> dict[str, Any]:
    """The claims of a signed ID token whose signature, audience, issuer and expiry all check out."""
    try:
        try:
            token = _decode(id_token, _jwks(jwks_url), client_id)
        except (jws.InvalidJWSSignature, JWKeyNotFound):
            # Keys rotate: fetch them again once before calling the signature bad.
            token = _decode(id_token, _jwks(jwks_url, fresh=True), client_id)
    except JWException as exc:
        raise _reason(exc) from None
    except ValueError:
        raise _invalid("format") from None
    claims: dict[str, Any] = json.loads(token.claims)
    if not issuer_ok(str(claims.get("iss", "")), claims):
        raise _invalid("iss")
    return claims


def _reason(exc: Exception) -> ConfigurationFailure:
    if isinstance(exc, jwt.JWTExpired | jwt.JWTNotYetValid):
        return _invalid("exp")
    if isinstance(exc, jwt.JWTInvalidClaimValue | jwt.JWTMissingClaim) and "aud" in str(exc):
        return _invalid("aud")
    if isinstance(exc, jws.InvalidJWSSignature | JWKeyNotFound):
        return _invalid("signature")
    logger.info("ID token rejected: %s", type(exc).__name__)
    return _invalid("format")
