"""CLI: python -m localprovider start|stop|status|create-mailbox|persona|answer|answers|append|revoke|expire|
delegate|graph-event|push-subscription|forget-history, and organisation-wide access (organisation_cli.py):
create-service-account|grant-delegation|withdraw-delegation|register-app|grant-consent|withdraw-consent|
new-service-principal|add-mailbox-permission|remove-mailbox-permission|create-shared-mailbox|...

The instance comes from LOCAL_PROVIDER_DIR / _HTTP_PORT / _IMAP_PORT (defaults: .testbed/dev, 8765, 14143).
"""

import argparse
import sys
from typing import NoReturn

from localprovider import control, graph, organisation_cli
from localprovider.personas import ANSWER_SURFACES as SURFACES
from localprovider.personas import PERSONAS


class _Parser(argparse.ArgumentParser):
    """Usage mistakes end like every other error here: one line on stderr, exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"localprovider: {message} (see {self.prog} --help)\n")


def main(argv: list[str] | None = None) -> int:
    parser = _Parser(prog="python -m localprovider", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("start", help="start the OAuth server and Dovecot (idempotent)")
    sub.add_parser("stop", help="stop both")
    sub.add_parser("status", help="say what runs; exit 1 unless both do")
    create = sub.add_parser("create-mailbox", help="create an account, or reset it with a new password")
    create.add_argument("email")
    create.add_argument("password")
    create.add_argument("--persona", choices=PERSONAS, default="plain", help="which provider it imitates")
    persona = sub.add_parser("persona", help="make a mailbox imitate a provider (clears its forced answers)")
    persona.add_argument("email")
    persona.add_argument("persona", choices=PERSONAS)
    persona.add_argument("--email-claim", metavar="ADDR", help="microsoft: the ID token's email, if not the address")
    answer = sub.add_parser("answer", help="force a recorded answer on a surface until cleared")
    answer.add_argument("email")
    answer.add_argument("surface", choices=SURFACES)
    answer.add_argument("name", help="a name listed by `answers PERSONA`, or `clear`")
    answers = sub.add_parser("answers", help="list the recorded answers of a persona, with their sources")
    answers.add_argument("persona", choices=PERSONAS)
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
    delegate = sub.add_parser("delegate", help="give an account Full Access to a (shared) mailbox, or take it away")
    delegate.add_argument("mailbox")
    delegate.add_argument("delegate")
    delegate.add_argument("--remove", action="store_true", help="take the access away")
    event = sub.add_parser("graph-event", help="post a Graph lifecycle event to a mailbox's subscriptions")
    event.add_argument("email")
    event.add_argument("event", choices=graph.LIFECYCLE_EVENTS)
    push = sub.add_parser("push-subscription", help="a Pub/Sub topic and a push subscription to ENDPOINT")
    push.add_argument("topic", help="projects/PROJECT/topics/NAME (the app's GMAIL_PUBSUB_TOPIC)")
    push.add_argument("endpoint", help="where pushes go, e.g. http://127.0.0.1:8000/push/gmail/")
    push.add_argument("--audience", help="the token's aud (default: the endpoint URL, as at Pub/Sub)")
    push.add_argument("--emulator", metavar="URL", help="publish through the Pub/Sub emulator at URL instead")
    forget = sub.add_parser("forget-history", help="Gmail forgets a mailbox's history: older ids answer 404")
    forget.add_argument("email")
    organisation_cli.add_commands(sub)
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
        email = control.create_mailbox(instance, args.email, args.password, persona=args.persona)
        print(f"mailbox {email} ready ({args.persona} persona; sign-in and IMAP password set)")
    elif args.command == "persona":
        mailbox = control.set_persona(instance, args.email, args.persona, email_claim=args.email_claim)
        claim = f", email claim {mailbox.email_claim}" if mailbox.email_claim else ""
        print(f"{args.email}: {mailbox.persona} persona{claim}")
    elif args.command == "answer":
        forced: str | None = None if args.name == "clear" else args.name
        control.force_answer(instance, args.email, args.surface, forced)
        print(f"{args.email}: {args.surface} answers {forced or 'normally'}")
    elif args.command == "answers":
        for surface in SURFACES:
            for name, source in control.recorded_answers(args.persona, surface).items():
                print(f"{surface:9}  {name:36}  {source}")
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
    elif args.command == "delegate":
        print(control.set_delegate(instance, args.mailbox, args.delegate, allowed=not args.remove))
    elif args.command == "graph-event":
        statuses = control.graph_lifecycle(instance, args.email, args.event)
        print(f"{args.email}: {args.event} posted to {len(statuses)} subscription(s), answered {statuses}")
    elif args.command == "push-subscription":
        control.create_push_subscription(
            instance, args.topic, args.endpoint, audience=args.audience, emulator=args.emulator
        )
        print(f"{args.topic} pushes to {args.endpoint}{' through the emulator' if args.emulator else ''}")
    elif args.command == "forget-history":
        print(f"{args.email}: history now starts at {control.forget_history(instance, args.email)}")
    elif args.command in organisation_cli.COMMANDS:
        organisation_cli.run(args, instance)
    return 0


if __name__ == "__main__":
    sys.exit(main())
