"""The `python -m localprovider` commands of organisation-wide access: what a Google Workspace or Microsoft 365
administrator does to let an application read every mailbox, or to refuse it (organisation_admin.py)."""

import argparse
import json
import os
from pathlib import Path
from typing import Any

from localprovider import control

COMMANDS = (
    "create-service-account",
    "add-service-account-key",
    "delete-service-account-key",
    "grant-delegation",
    "withdraw-delegation",
    "register-app",
    "add-app-secret",
    "remove-app-secret",
    "grant-consent",
    "withdraw-consent",
    "new-service-principal",
    "remove-service-principal",
    "add-mailbox-permission",
    "remove-mailbox-permission",
    "create-shared-mailbox",
    "expire-client",
)


def add_commands(sub: "argparse._SubParsersAction[Any]") -> None:
    account = sub.add_parser("create-service-account", help="google: a service account and its JSON key")
    account.add_argument("name", help="the account id: 6-30 of a-z, 0-9 and -")
    account.add_argument("--project", default="local-mail", help="its project id (default local-mail)")
    account.add_argument("--out", type=Path, metavar="FILE", help="write the key there (0600) instead of stdout")
    key = sub.add_parser("add-service-account-key", help="google: another key for a service account (rotation)")
    key.add_argument("client_email")
    key.add_argument("--out", type=Path, metavar="FILE", help="write the key there (0600) instead of stdout")
    delete = sub.add_parser("delete-service-account-key", help="google: delete a key; it signs nothing valid any more")
    delete.add_argument("client_email")
    delete.add_argument("private_key_id")
    grant = sub.add_parser("grant-delegation", help="google: a domain delegates scopes to a service account")
    grant.add_argument("domain")
    grant.add_argument("client_id", help="the service account's client id (21 digits)")
    grant.add_argument("scopes", nargs="+", help="e.g. https://mail.google.com/")
    withdraw = sub.add_parser("withdraw-delegation", help="google: the domain's administrator withdraws it")
    withdraw.add_argument("domain")
    withdraw.add_argument("client_id")
    sub.add_parser("register-app", help="microsoft: an app registration and its client secret").add_argument(
        "tenant_domain"
    )
    sub.add_parser("add-app-secret", help="microsoft: another client secret (rotation)").add_argument("app_id")
    remove_secret = sub.add_parser("remove-app-secret", help="microsoft: remove a client secret")
    remove_secret.add_argument("app_id")
    remove_secret.add_argument("secret_id")
    sub.add_parser("grant-consent", help="microsoft: admin consent to IMAP.AccessAsApp").add_argument("app_id")
    sub.add_parser("withdraw-consent", help="microsoft: revoke that consent").add_argument("app_id")
    principal = sub.add_parser("new-service-principal", help="microsoft: Exchange's New-ServicePrincipal")
    principal.add_argument("app_id")
    principal.add_argument("object_id", help="the enterprise application's object id")
    sub.add_parser("remove-service-principal", help="microsoft: Exchange's Remove-ServicePrincipal").add_argument(
        "app_id"
    )
    for verb, what in (("add", "Add-MailboxPermission"), ("remove", "Remove-MailboxPermission")):
        permission = sub.add_parser(f"{verb}-mailbox-permission", help=f"microsoft: Exchange's {what} (FullAccess)")
        permission.add_argument("mailbox")
        permission.add_argument("app_id")
    sub.add_parser("create-shared-mailbox", help="microsoft: a shared mailbox nobody signs in to").add_argument("email")
    sub.add_parser("expire-client", help="expire every access token of a client (an hour passes)").add_argument(
        "client_id"
    )


def run(args: argparse.Namespace, instance: control.Instance) -> None:
    """Runs one of COMMANDS, printing what it did (a key or a secret as JSON: shown once, kept nowhere here)."""
    command = args.command
    if command == "create-service-account":
        _print_key(control.create_service_account(instance, args.name, project_id=args.project), args.out)
    elif command == "add-service-account-key":
        _print_key(control.add_service_account_key(instance, args.client_email), args.out)
    elif command == "delete-service-account-key":
        print(control.delete_service_account_key(instance, args.client_email, args.private_key_id))
    elif command == "grant-delegation":
        print(control.grant_delegation(instance, args.domain, args.client_id, args.scopes))
    elif command == "withdraw-delegation":
        print(control.withdraw_delegation(instance, args.domain, args.client_id))
    elif command == "register-app":
        print(json.dumps(control.register_app(instance, args.tenant_domain), indent=2))
    elif command == "add-app-secret":
        print(json.dumps(control.add_app_secret(instance, args.app_id), indent=2))
    elif command == "remove-app-secret":
        print(control.remove_app_secret(instance, args.app_id, args.secret_id))
    elif command == "grant-consent":
        print(control.grant_admin_consent(instance, args.app_id))
    elif command == "withdraw-consent":
        print(control.withdraw_admin_consent(instance, args.app_id))
    elif command == "new-service-principal":
        print(control.new_service_principal(instance, args.app_id, args.object_id))
    elif command == "remove-service-principal":
        print(control.remove_service_principal(instance, args.app_id))
    elif command == "add-mailbox-permission":
        print(control.add_mailbox_permission(instance, args.mailbox, args.app_id))
    elif command == "remove-mailbox-permission":
        print(control.remove_mailbox_permission(instance, args.mailbox, args.app_id))
    elif command == "create-shared-mailbox":
        print(f"shared mailbox {control.create_shared_mailbox(instance, args.email)} ready (no sign-in)")
    elif command == "expire-client":
        print(control.expire_client_tokens(instance, args.client_id))


def _print_key(key: dict[str, str], out: Path | None) -> None:
    if out is None:
        print(json.dumps(key, indent=2))
        return
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(key, f, indent=2)
    print(f"key {key['private_key_id']} of {key['client_email']} (client id {key['client_id']}) written to {out}")
