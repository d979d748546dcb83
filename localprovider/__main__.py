"""CLI: python -m localprovider start|stop|status|create-mailbox|append|revoke|expire.

The instance comes from LOCAL_PROVIDER_DIR / _HTTP_PORT / _IMAP_PORT (defaults: .testbed/dev, 8765, 14143).
"""

import argparse
import sys

from localprovider import control


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m localprovider", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("start", help="start the OAuth server and Dovecot (idempotent)")
    sub.add_parser("stop", help="stop both")
    sub.add_parser("status", help="say what runs; exit 1 unless both do")
    create = sub.add_parser("create-mailbox", help="create an account, or set its password")
    create.add_argument("email")
    create.add_argument("password")
    append = sub.add_parser("append", help="deliver generated messages into an INBOX")
    append.add_argument("email")
    append.add_argument("--count", type=int, default=1)
    append.add_argument("--sender", default="customer@example.test")
    revoke = sub.add_parser("revoke", help="revoke every token of an account (as a user removing access at Google)")
    revoke.add_argument("email")
    revoke.add_argument(
        "--then-deliver", type=int, default=0, metavar="N", help="then deliver N new messages: mail keeps arriving"
    )
    sub.add_parser("expire", help="expire the access tokens of an account").add_argument("email")
    args = parser.parse_args(argv)

    instance = control.instance_from_env()
    try:
        return _run(args, instance)
    except control.LocalProviderError as e:
        print(f"localprovider: {e}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace, instance: control.Instance) -> int:
    if args.command == "start":
        control.start(instance)
        print(f"OAuth server: {instance.base_url}  (log {instance.http_log})")
        print(f"IMAP server:  {instance.imap_host}:{instance.imap_port}  (log {instance.imap_front_log})")
        print(f"  Dovecot behind it on port {instance.dovecot_port}  (log {instance.dovecot_log})")
        print(f"OAuth client: {instance.client_id}  data: {instance.dir}")
    elif args.command == "stop":
        control.stop(instance)
        print(f"stopped the local provider in {instance.dir}")
    elif args.command == "status":
        state = control.status(instance)
        for name, running in state.items():
            print(f"{name}: {'running' if running else 'stopped'}")
        return 0 if all(state.values()) else 1
    elif args.command == "create-mailbox":
        email = control.create_mailbox(instance, args.email, args.password)
        print(f"mailbox {email} ready (sign-in and IMAP password set)")
    elif args.command == "append":
        messages = (control.make_message(sender=args.sender, recipient=args.email) for _ in range(args.count))
        count = control.append_messages(instance, args.email, messages)
        print(f"delivered {count} messages to {args.email}")
    elif args.command == "revoke":
        print(control.revoke_tokens(instance, args.email))
        if args.then_deliver:
            subjects = (
                f"Sent while access was revoked ({i + 1} of {args.then_deliver})" for i in range(args.then_deliver)
            )
            messages = (control.make_message(recipient=args.email, subject=subject) for subject in subjects)
            print(f"delivered {control.append_messages(instance, args.email, messages)} new messages to {args.email}")
    elif args.command == "expire":
        print(control.expire_tokens(instance, args.email))
    return 0


if __name__ == "__main__":
    sys.exit(main())
