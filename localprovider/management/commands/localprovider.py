"""The provider database from a subprocess: `setup` before the OAuth server starts, and the account
actions of `localprovider.accounts` (`call ACTION`) while it does not run. Run by `localprovider.control`,
which asks the server's admin endpoint instead whenever it runs (Django starting here costs ~0.6 s).

A subprocess with DJANGO_SETTINGS_MODULE=localprovider.settings keeps this Django configuration apart
from the main app's, which may be the one loaded in the calling process (its tests).
Secrets come in through the environment or stdin, never through arguments (visible in `ps`).
"""

import json
import os
import sys
from argparse import ArgumentParser

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from oauth2_provider.models import Application

from localprovider import accounts
from localprovider.instance import DEFAULT_CLIENT_SECRET, INTROSPECTION_CLIENT_ID, MAIN_CLIENT_ID

REDIRECT_URIS = "http://127.0.0.1/oauth/callback/ http://localhost/oauth/callback/ http://testserver/oauth/callback/"


class Command(BaseCommand):
    requires_system_checks: list[str] = []  # saves ~0.1 s per call; `setup` is run by code we own
    help = "Set up the provider database and manage its mailbox accounts and tokens."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("setup", help="migrate and create the two OAuth applications (idempotent)")
        call = sub.add_parser(
            "call",
            help="run an account action: JSON payload on stdin, JSON {result} on stdout; an error on stderr, exit 2",
        )
        call.add_argument("name", choices=accounts.ACTIONS)

    def handle(self, *args: object, action: str, **options: object) -> None:
        if action == "setup":
            self.setup()
        elif action == "call":
            self.call(str(options["name"]))

    def setup(self) -> None:
        call_command("migrate", verbosity=0, interactive=False)
        # The main app's client, as it would be registered at Google. hash_client_secret=False keeps the
        # token endpoint fast; the secret is a dev default anyway.
        Application.objects.update_or_create(
            client_id=MAIN_CLIENT_ID,
            defaults={
                # What the consent screen names: the product people are connecting their mailbox to.
                "name": "Shared Inbox",
                "client_type": Application.CLIENT_CONFIDENTIAL,
                "authorization_grant_type": Application.GRANT_AUTHORIZATION_CODE,
                "client_secret": os.environ.get("LOCAL_PROVIDER_CLIENT_SECRET") or DEFAULT_CLIENT_SECRET,
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

    def call(self, name: str) -> None:
        try:
            payload = json.load(sys.stdin)
        except ValueError as e:
            raise CommandError(f"the payload on stdin is not JSON: {e}") from None
        if not isinstance(payload, dict):
            raise CommandError("the payload on stdin must be a JSON object")
        try:
            result = accounts.perform(name, payload)
        except accounts.AccountError as e:
            # The same words as the admin endpoint's {"error": ...}, so callers see one message either way.
            self.stderr.write(str(e))
            sys.exit(2)
        self.stdout.write(json.dumps({"result": result}))


def _required_env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise CommandError(f"{name} is not set")
    return value
