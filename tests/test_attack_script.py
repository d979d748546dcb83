"""The attack script (tests/attack) against the app on a live server with the demo's data and Local mail:
every finding of the review holds, and only what cannot be seen from outside is left to other tests."""

import io
from contextlib import redirect_stdout

import pytest
from django.core.management import call_command

from tests.attack.__main__ import main
from tests.network_fakes import closed_port

pytestmark = [pytest.mark.local_provider, pytest.mark.django_db(transaction=True)]

# Each names the test that checks what the script cannot reach from outside.
NOT_REACHABLE = ("4 passwords in error reports", "13 debug page, logs, SITE_URL")


@pytest.fixture
def demo(local_provider):
    """`make run`'s people, workspaces and channels, connected to the suite's Local mail."""
    call_command("seed_demo", stdout=io.StringIO())


def test_every_finding_holds_against_a_running_instance(demo, live_server, settings):
    listen_port = closed_port()
    settings.IMAP_ALLOWED_PORTS = [*settings.IMAP_ALLOWED_PORTS, listen_port]
    settings.IMAP_LOGIN_DEADLINE_SECONDS = 3
    # Room for every probe of the two people who probe; the member's 25 guesses still meet the limit.
    settings.IMAP_LOGIN_ATTEMPTS = 10
    out = io.StringIO()
    with redirect_stdout(out):
        code = main(["--url", live_server.url, "--listen-port", str(listen_port), "--deadline", "3"])
    table = out.getvalue()
    assert code == 0, table
    assert not [line for line in table.splitlines() if line.endswith("| FAILED")], table
    assert table.rstrip().endswith(f"0 FAILED, {len(NOT_REACHABLE)} not run"), table
    for finding in NOT_REACHABLE:
        assert finding.split()[-1] in table
