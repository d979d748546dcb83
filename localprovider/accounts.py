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

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from oauth2_provider.models import AccessToken, Application, RefreshToken
from oauth2_provider.settings import oauth2_settings

from localprovider import personas
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
    """Makes access tokens expired a second ago, so a client has to refresh (refresh tokens stay valid)."""
    past = timezone.now() - timedelta(seconds=1)
    count = AccessToken.objects.filter(user=_user(email), expires__gt=past).update(expires=past)
    return f"expired {count} access tokens of {email}"


def expire_client(*, client_id: str) -> str:
    """Makes every access token issued to a client expired a second ago: the end of the hour for which a
    service account's or an app's tokens outlive a withdrawn delegation or consent (organisation_views.py)."""
    past = timezone.now() - timedelta(seconds=1)
    count = AccessToken.objects.filter(application__client_id=client_id, expires__gt=past).update(expires=past)
    return f"expired {count} access tokens of {client_id}"


def token_state(*, email: str) -> dict[str, object]:
    """The newest refresh and access tokens `email` gave out (what our app last held) and every token of
    `email` that still works, so a check of a deployment can see that disconnecting gave the grant back
    (tests/attack): {newest_refresh, newest_access, live_refresh, live_access}, token ids, not tokens."""
    user = _user(email)
    refresh = RefreshToken.objects.filter(user=user).order_by("-created", "-pk").first()
    access = AccessToken.objects.filter(user=user).order_by("-created", "-pk").first()
    return {
        "newest_refresh": refresh.pk if refresh else None,
        "newest_access": access.pk if access else None,
        "live_refresh": list(RefreshToken.objects.filter(user=user, revoked=None).values_list("pk", flat=True)),
        "live_access": list(
            AccessToken.objects.filter(user=user, expires__gt=timezone.now()).values_list("pk", flat=True)
        ),
    }


def delegate(*, mailbox: str, delegate: str, allowed: bool) -> str:
    """Gives `delegate` Full Access to `mailbox` (an Exchange shared mailbox's delegate), or takes it away:
    from the next login on, the delegate's own token opens `mailbox` with XOAUTH2 user=`mailbox`, or no
    longer does. Both must be accounts here."""
    for account in (mailbox, delegate):
        _user(account)
    if mailbox == delegate:
        raise AccountError(f"{mailbox} cannot be its own delegate")
    # getattr: INSTANCE_DIR exists only in localprovider.settings, which the type checker does not load.
    instance_dir = getattr(settings, "INSTANCE_DIR")  # noqa: B009
    others = [d for d in personas.read_state(instance_dir, mailbox).delegates if d != delegate]
    personas.write_state(instance_dir, mailbox, delegates=tuple([*others, delegate] if allowed else others))
    return f"{delegate} {'has' if allowed else 'no longer has'} Full Access to {mailbox}"


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


def _flag(payload: Mapping[str, Any], key: str) -> bool:
    value = payload.get(key)
    if not isinstance(value, bool):
        raise AccountError(f"{key} must be true or false")
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
    "expire-client": lambda p: expire_client(client_id=_text(p, "client_id")),
    "token-state": lambda p: token_state(email=_text(p, "email")),
    "delegate": lambda p: delegate(
        mailbox=_text(p, "mailbox"), delegate=_text(p, "delegate"), allowed=_flag(p, "allowed")
    ),
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
