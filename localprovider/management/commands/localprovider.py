"""Mutations of the provider database, run by `localprovider.control` in a subprocess.

A subprocess with DJANGO_SETTINGS_MODULE=localprovider.settings keeps this Django configuration apart
from the main app's, which may be the one loaded in the calling process (its tests).
Secrets come in through the environment, never through arguments (visible in `ps`).
"""

import json
import os
import secrets
import sys
from argparse import ArgumentParser
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from oauth2_provider.models import AccessToken, Application, RefreshToken

from localprovider.grants import revoke_grant

MAIN_CLIENT_ID = "channels-app"
INTROSPECTION_CLIENT_ID = "dovecot-introspection"
REDIRECT_URIS = "http://127.0.0.1/oauth/callback/ http://localhost/oauth/callback/ http://testserver/oauth/callback/"


class Command(BaseCommand):
    requires_system_checks: list[str] = []  # saves ~0.1 s per call; `setup` is run by code we own
    help = "Set up the provider database and manage its mailbox accounts and tokens."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("setup", help="migrate and create the two OAuth applications (idempotent)")
        user = sub.add_parser(
            "set-user", help="create or update a mailbox account; password in LOCAL_PROVIDER_PASSWORD"
        )
        user.add_argument("email")
        sub.add_parser("set-users", help="create or update many accounts: JSON [[email, password], …] on stdin")
        sub.add_parser(
            "issue-tokens",
            help="grant the app tokens for many accounts as if each had consented: JSON [email, …] on stdin",
        )
        for name, text in (("revoke", "revoke every token of an account"), ("expire", "expire its access tokens")):
            sub.add_parser(name, help=text).add_argument("email")

    def handle(self, *args: object, action: str, **options: object) -> None:
        if action == "setup":
            self.setup()
        elif action == "set-user":
            self.set_user(str(options["email"]), _required_env("LOCAL_PROVIDER_PASSWORD"))
        elif action == "set-users":
            self.set_users(json.load(sys.stdin))
        elif action == "issue-tokens":
            self.issue_tokens(json.load(sys.stdin))
        elif action == "revoke":
            self.revoke(str(options["email"]))
        elif action == "expire":
            self.expire(str(options["email"]))

    def setup(self) -> None:
        call_command("migrate", verbosity=0, interactive=False)
        # The main app's client, as it would be registered at Google. hash_client_secret=False keeps the
        # token endpoint fast; the secret is a dev default anyway.
        Application.objects.update_or_create(
            client_id=MAIN_CLIENT_ID,
            defaults={
                "name": "Channels app",
                "client_type": Application.CLIENT_CONFIDENTIAL,
                "authorization_grant_type": Application.GRANT_AUTHORIZATION_CODE,
                "client_secret": os.environ.get("LOCAL_PROVIDER_CLIENT_SECRET") or "local-dev-secret",
                "hash_client_secret": False,
                "redirect_uris": REDIRECT_URIS,
                "skip_authorization": False,
                # ID tokens signed with the instance's RSA key (OIDC_RSA_PRIVATE_KEY), as Google and
                # Microsoft sign theirs, so they verify against the published JWKS.
                "algorithm": Application.RS256_ALGORITHM,
            },
        )
        # Dovecot's credentials for /o/introspect/: a hashed secret would cost ~0.4 s per IMAP login.
        Application.objects.update_or_create(
            client_id=INTROSPECTION_CLIENT_ID,
            defaults={
                "name": "Dovecot introspection",
                "client_type": Application.CLIENT_CONFIDENTIAL,
                "authorization_grant_type": Application.GRANT_CLIENT_CREDENTIALS,
                "client_secret": _required_env("LOCAL_PROVIDER_INTROSPECTION_SECRET"),
                "hash_client_secret": False,
            },
        )
        self.stdout.write("provider database ready")

    def set_user(self, email: str, password: str) -> None:
        user, created = get_user_model().objects.get_or_create(username=email, defaults={"email": email})
        user.set_password(password)
        user.save()
        self.stdout.write(f"{'created' if created else 'updated'} {email}")

    @transaction.atomic
    def set_users(self, accounts: list[list[str]]) -> None:
        """Thousands of accounts in one process, for benchmarks and large tests."""
        for email, password in accounts:
            user, _ = get_user_model().objects.get_or_create(username=email, defaults={"email": email})
            user.set_password(password)
            user.save()
        self.stdout.write(f"set {len(accounts)} accounts")

    @transaction.atomic
    def issue_tokens(self, emails: list[str]) -> None:
        """Tokens as a finished consent would give them, without driving the pages thousands of times.

        Prints JSON {email: {access_token, refresh_token, expires_in}}.
        """
        app = Application.objects.get(client_id=MAIN_CLIENT_ID)
        lifetime = timedelta(seconds=int(os.environ.get("LOCAL_PROVIDER_ACCESS_TOKEN_SECONDS") or 3600))
        users = {u.username: u for u in get_user_model().objects.filter(username__in=emails)}
        issued: dict[str, dict[str, object]] = {}
        for email in emails:
            user = users[email]
            access = AccessToken.objects.create(
                user=user,
                application=app,
                token=secrets.token_urlsafe(30),
                scope="imap",
                expires=timezone.now() + lifetime,
            )
            refresh = RefreshToken.objects.create(
                user=user, application=app, token=secrets.token_urlsafe(30), access_token=access
            )
            issued[email] = {
                "access_token": access.token,
                "refresh_token": refresh.token,
                "expires_in": int(lifetime.total_seconds()),
            }
        self.stdout.write(json.dumps(issued))

    def revoke(self, email: str) -> None:
        """What a user removing our access in their Google account does: every token stops working."""
        refresh_count, access_count = revoke_grant(self._user(email))
        self.stdout.write(f"revoked {refresh_count} refresh and {access_count} other access tokens of {email}")

    def expire(self, email: str) -> None:
        """Makes access tokens look an hour old, so a client has to refresh (refresh tokens stay valid)."""
        past = timezone.now() - timedelta(seconds=1)
        count = AccessToken.objects.filter(user=self._user(email), expires__gt=past).update(expires=past)
        self.stdout.write(f"expired {count} access tokens of {email}")

    def _user(self, email: str) -> AbstractBaseUser:
        try:
            return get_user_model().objects.get(username=email)
        except get_user_model().DoesNotExist:
            raise CommandError(f"no mailbox account {email}") from None


def _required_env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise CommandError(f"{name} is not set")
    return value
