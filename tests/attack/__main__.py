"""Replays the security review's findings (issue 12) against a running instance; prints a table of
finding, request, expected answer, answer and verdict; exits 1 if any finding is open again.

    .venv/bin/python -m tests.attack --url http://127.0.0.1:8000 --listen-port 14399

The defaults fit `make run`'s demo. Against a deployment, sign in as accounts made for the check
(`--admin EMAIL:PASSWORD` …) on a staging copy: the check marks a channel for reauthorization, takes a
workspace admin out of its workspace and back, disconnects and reconnects a channel, and sends support
messages. Rows that need what the instance lacks say why instead of running:
- `--listen-port`: a port the instance may connect to (IMAP_ALLOWED_PORTS, on a network it allows) where
  this script plays misbehaving servers on 127.0.0.1, so only where the instance runs on this machine;
- Local mail as the instance's provider (LOCAL_PROVIDER_* as the instance has them) for findings 7 to 11.
Each person may try an IMAP password only IMAP_LOGIN_ATTEMPTS times in IMAP_LOGIN_WINDOW_SECONDS; probes
past that are answered 429, which is as uninformative to an attacker as the neutral message.
"""

import argparse
import ipaddress
import socket
import sys
from collections.abc import Iterator
from urllib.parse import urlsplit

from localprovider import control
from tests.attack import probes, scenario
from tests.attack.report import Row, Verdict, not_run, print_table
from tests.attack.web import Admin, Person, signed_in

DEMO_PASSWORD = "demo-password-1"  # channels_app.demo's; not imported, so no Django settings are needed


def _person(value: str, default_password: str) -> Person:
    email, _, password = value.partition(":")
    return Person(email, password or default_password)


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.attack", description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--password", default=DEMO_PASSWORD, help="for people given without one")
    parser.add_argument("--admin", default="dana@acme.test", help="a company admin, EMAIL[:PASSWORD]")
    parser.add_argument("--workspace-admin", default="wes@acme.test", help="an admin of --channel's workspace")
    parser.add_argument("--member", default="sam@acme.test", help="a member; guesses a password 25 times")
    parser.add_argument("--staff", default="staff@acme.test", help="a staff member (Django admin)")
    parser.add_argument("--channel", default="sales@acme.test", help="a shared Local mail channel")
    parser.add_argument("--mailbox-password", default="mail-password-1", help="--channel's password at Local mail")
    parser.add_argument("--listen-port", type=int, help="see above")
    parser.add_argument("--deadline", type=int, default=30, help="the instance's IMAP_LOGIN_DEADLINE_SECONDS")
    parser.add_argument("--not-loopback", action="store_true", help="the instance is not on this machine: I own it")
    args = parser.parse_args(argv)
    host = urlsplit(args.url).hostname or ""
    if not args.not_loopback and not all(
        ipaddress.ip_address(a[4][0]).is_loopback for a in socket.getaddrinfo(host, 80)
    ):
        parser.error(f"{host} is not this machine: pass --not-loopback to attack an instance you own")
    return args


def rows(args: argparse.Namespace) -> Iterator[Row]:
    people = {role: _person(getattr(args, role), args.password) for role in ("admin", "workspace_admin", "member")}
    admin, workspace_admin, member = (signed_in(args.url, person) for person in people.values())
    tries = probes.Tries([admin, workspace_admin])
    yield from probes.slow_server(tries, args.listen_port, args.deadline)
    yield from probes.dropped_login(tries, args.listen_port)
    yield from probes.port_scan(tries, args.listen_port)
    yield from probes.bad_hosts(admin)
    yield from probes.injection(admin)
    instance = control.instance_from_env()
    local_mail = control.is_running(instance)
    account = ("127.0.0.1", instance.imap_port, args.channel, args.mailbox_password) if local_mail else None
    yield from probes.guessing(member, admin, account)
    yield from probes.sign_in_guessing(args.url)
    yield from probes.email_management(admin)
    yield from probes.headers_and_choices(admin)
    if not local_mail:
        yield not_run("7-11", "", "", f"Local mail is not running at {instance.base_url}")
        return
    staff = Admin(signed_in(args.url, _person(args.staff, args.password)))
    workspace_admin_email = people["workspace_admin"].email
    yield from scenario.run(
        scenario.Scene(
            staff, admin, workspace_admin, workspace_admin_email, instance, args.channel, args.mailbox_password
        )
    )


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv)
    found: list[Row] = []
    try:
        for row in rows(args):
            found.append(row)
            print(f"  {row.verdict.value:8} {row.finding}: {row.request[:70]}", file=sys.stderr, flush=True)
    except Exception as error:  # the table so far still tells what held; the error is the last row
        found.append(
            Row("the check itself", "", "to run to the end", f"{type(error).__name__}: {error}", Verdict.FAILED)
        )
    print_table(found, sys.stdout)
    counts = {verdict: sum(row.verdict is verdict for row in found) for verdict in Verdict}
    print(", ".join(f"{count} {verdict.value}" for verdict, count in counts.items()))
    return 1 if counts[Verdict.FAILED] else 0


if __name__ == "__main__":
    sys.exit(main())
