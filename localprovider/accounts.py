"""Mailbox accounts, their tokens and extra OAuth clients: the changes `localprovider.control` asks of
the provider database.

Two ways in, one code: the admin endpoint (`control_endpoint.py`) while the OAuth server runs, and the
`localprovider` management command in a subprocess when it does not. Both call `perform`, which runs
one named action on a JSON payload in a transaction and returns a JSON-able answer.
"""

import secrets
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from oauth2_provider.models import AccessToken, Application, RefreshToken
from oauth2_provider.settings import oauth2_settings

from localprovider.grants import revoke_grant
from localprovider.instance import INTROSPECTION_CLIENT_ID, MAIN_CLIENT_ID


class AccountError(Exception):
    """An action that cannot be carried out as asked: an unknown action or mailbox, a malformed payload."""


def set_user(*, email: str, password: str) -> str:
    """Creates a mailbox account or gives it a new password."""
    user, created = get_user_model().objects.get_or_create(username=email, defaults={"email": email})
    user.set_password(password)
    user.save()
    return f"{'created' if created else 'updated'} {email}"


def set_users(*, accounts: Sequence[tuple[str, str]]) -> str:
    """Thousands of accounts in one call, for benchmarks and large tests."""
    for email, password in accounts:
        set_user(email=email, password=password)
    return f"set {len(accounts)} accounts"


def issue_tokens(*, emails: Sequence[str]) -> dict[str, dict[str, object]]:
    """Tokens as a finished consent would give them, without driving the pages thousands of times:
    {email: {access_token, refresh_token, expires_in}}, scope `imap`, the server's access token lifetime."""
    app = Application.objects.get(client_id=MAIN_CLIENT_ID)
    lifetime = timedelta(seconds=oauth2_settings.ACCESS_TOKEN_EXPIRE_SECONDS)
    users = {u.get_username(): u for u in get_user_model().objects.filter(username__in=emails)}
    issued: dict[str, dict[str, object]] = {}
    for email in emails:
        if email not in users:
            raise AccountError(f"no mailbox account {email}")
        access = AccessToken.objects.create(
            user=users[email],
            application=app,
            token=secrets.token_urlsafe(30),
            scope="imap",
            expires=timezone.now() + lifetime,
        )
        refresh = RefreshToken.objects.create(
            user=users[email], application=app, token=secrets.token_urlsafe(30), access_token=access
        )
        issued[email] = {
            "access_token": access.token,
            "refresh_token": refresh.token,
            "expires_in": int(lifetime.total_seconds()),
        }
    return issued


def revoke(*, email: str) -> str:
    """What a user removing our access in their Google account does: every token stops working."""
    refresh_count, access_count = revoke_grant(_user(email))
    return f"revoked {refresh_count} refresh and {access_count} other access tokens of {email}"


def expire(*, email: str) -> str:
    """Makes access tokens look an hour old, so a client has to refresh (refresh tokens stay valid)."""
    past = timezone.now() - timedelta(seconds=1)
    count = AccessToken.objects.filter(user=_user(email), expires__gt=past).update(expires=past)
    return f"expired {count} access tokens of {email}"


def register_client(*, client_id: str, client_secret: str, redirect_uris: Sequence[str]) -> str:
    """Registers (or updates) another OpenID Connect client, as a company registers an app with its
    identity provider: the main app's company sign-in uses Local mail as that provider in the tests and
    the demo. Its ID tokens are RS256-signed like the main client's, so they verify against the JWKS."""
    if client_id in (MAIN_CLIENT_ID, INTROSPECTION_CLIENT_ID):
        raise AccountError(f"{client_id} is one of the instance's own clients")
    _, created = Application.objects.update_or_create(
        client_id=client_id,
        defaults={
            "name": f"OpenID Connect client {client_id}",
            "client_type": Application.CLIENT_CONFIDENTIAL,
            "authorization_grant_type": Application.GRANT_AUTHORIZATION_CODE,
            "client_secret": client_secret,
            "hash_client_secret": False,
            "redirect_uris": " ".join(redirect_uris),
            "skip_authorization": False,
            "algorithm": Application.RS256_ALGORITHM,
        },
    )
    return f"{'registered' if created else 'updated'} client {client_id}"


def _user(email: str) -> AbstractBaseUser:
    try:
        return get_user_model().objects.get(username=email)
    except get_user_model().DoesNotExist:
        raise AccountError(f"no mailbox account {email}") from None


def _text(payload: Mapping[str, Any], key: str) -> str:
    value = payload.get(key)
    if not isinstance(value, str) or not value:
        raise AccountError(f"{key} must be a non-empty string")
    return value


def _texts(payload: Mapping[str, Any], key: str) -> list[str]:
    values = payload.get(key)
    if not isinstance(values, list) or not all(isinstance(v, str) and v for v in values):
        raise AccountError(f"{key} must be a list of non-empty strings")
    return values


def _pairs(payload: Mapping[str, Any], key: str) -> list[tuple[str, str]]:
    pairs = payload.get(key)
    if not isinstance(pairs, list) or not all(
        isinstance(p, list) and len(p) == 2 and all(isinstance(v, str) and v for v in p) for p in pairs
    ):
        raise AccountError(f"{key} must be a list of [email, password] pairs")
    return [(email, password) for email, password in pairs]


ACTIONS: dict[str, Callable[[Mapping[str, Any]], object]] = {
    "set-user": lambda p: set_user(email=_text(p, "email"), password=_text(p, "password")),
    "set-users": lambda p: set_users(accounts=_pairs(p, "accounts")),
    "issue-tokens": lambda p: issue_tokens(emails=_texts(p, "emails")),
    "revoke": lambda p: revoke(email=_text(p, "email")),
    "expire": lambda p: expire(email=_text(p, "email")),
    "register-client": lambda p: register_client(
        client_id=_text(p, "client_id"),
        client_secret=_text(p, "client_secret"),
        redirect_uris=_texts(p, "redirect_uris"),
    ),
}


def perform(action: str, payload: Mapping[str, Any]) -> object:
    """Runs one action of ACTIONS in a transaction: all of it happens, or (on any error) none."""
    if action not in ACTIONS:
        raise AccountError(f"no action {action!r}; one of {', '.join(ACTIONS)}")
    with transaction.atomic():
        return ACTIONS[action](payload)
