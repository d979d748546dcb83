"""Local mail answering like Google and like Microsoft, per mailbox persona, on its HTTP side.

Real servers (DOT + Dovecot) on their own ports: two above the main suite's instance, one above
tests/test_localprovider.py's, so the three never meet.
"""

import os
import re
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from localprovider import control, personas
from localprovider.personas import Persona
from tests.provider_fixtures import start_or_skip

pytestmark = pytest.mark.local_provider

REPO_DIR = Path(__file__).resolve().parent.parent
INSTANCE = control.Instance(
    dir=REPO_DIR / ".testbed" / f"test-lp-personas-{int(os.environ['LOCAL_PROVIDER_HTTP_PORT']) + 2}",
    http_port=int(os.environ["LOCAL_PROVIDER_HTTP_PORT"]) + 2,
    imap_port=int(os.environ["LOCAL_PROVIDER_IMAP_PORT"]) + 2,
)
REDIRECT_URI = "http://127.0.0.1:8000/oauth/callback/"
PASSWORD = "persona-pw"
GMAIL = "https://mail.google.com/"
OUTLOOK_IMAP = "https://outlook.office.com/IMAP.AccessAsUser.All"
# What the main app asks each provider for (config/mail_providers.py).
REQUESTED: dict[Persona, str] = {
    "plain": "imap",
    "google": f"{GMAIL} openid email",
    "microsoft": f"openid email offline_access {OUTLOOK_IMAP}",
}


@pytest.fixture(scope="module")
def provider() -> Iterator[control.Instance]:
    start_or_skip(INSTANCE)
    try:
        yield INSTANCE
    finally:
        control.stop(INSTANCE)


@pytest.fixture
def mailbox(provider: control.Instance) -> Callable[..., str]:
    """A fresh mailbox imitating a persona; unique per test, as the instance outlives tests."""

    def make(persona: Persona, domain: str = "acme.test") -> str:
        return control.create_mailbox(provider, f"{persona}-{uuid.uuid4().hex[:8]}@{domain}", PASSWORD, persona)

    return make


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our interpreter, fixed module
        [sys.executable, "-m", "localprovider", *args],
        env={**os.environ, **INSTANCE.environ()},
        cwd=REPO_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_cli_sets_personas_and_forces_answers(provider: control.Instance) -> None:
    email = f"cli-{uuid.uuid4().hex[:8]}@acme.test"
    created = _cli("create-mailbox", email, PASSWORD, "--persona", "microsoft")
    assert created.returncode == 0 and "microsoft persona" in created.stdout, created.stderr
    assert control.mailbox_state(INSTANCE, email) == personas.MailboxState(persona="microsoft")

    assert _cli("persona", email, "microsoft", "--email-claim", "alias@acme.test").returncode == 0
    assert _cli("answer", email, "token", "throttled_429").returncode == 0
    assert control.mailbox_state(INSTANCE, email) == personas.MailboxState(
        persona="microsoft", email_claim="alias@acme.test", token_answer="throttled_429"
    )
    assert _cli("answer", email, "token", "clear").returncode == 0
    assert control.mailbox_state(INSTANCE, email).token_answer is None

    listed = _cli("answers", "google")
    assert listed.returncode == 0
    for name, entry in personas.recorded("google", "token").items():
        assert re.search(rf"^token\s+{name}\s+{re.escape(entry['source'][:40])}", listed.stdout, re.M), name

    for args, complaint in (
        (("answer", email, "token", "invalid_grant_revoked"), "no recorded token answer"),  # a Google name
        (("persona", "nobody@acme.test", "google"), "no mailbox nobody@acme.test"),
        (("persona", email, "yahoo"), "invalid choice"),
    ):
        failed = _cli(*args)
        assert failed.returncode == 2 and complaint in failed.stderr, failed.stderr
        assert failed.stderr.count("\n") == 1 and not failed.stdout
