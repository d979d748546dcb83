"""Local mail's shared mailboxes: a delegate's own token opens the shared mailbox when the XOAUTH2 user names
it, as at Exchange Online; `control.set_delegate` gives and takes that access; anyone else is refused in
Exchange's words.

Runs against the suite's own provider instance (`local_provider`) with its Dovecot and IMAP front.
"""

import os
import subprocess
import sys
from collections.abc import Callable

import pytest
from imapclient import IMAPClient
from imapclient.exceptions import LoginError

from channels_app.demo import local_consent
from localprovider import control
from localprovider.instance import REPO_DIR
from tests.provider_fixtures import Mailbox, xoauth2_open, xoauth2_refused

pytestmark = pytest.mark.local_provider


@pytest.fixture
def shared(make_mailbox: Callable[..., Mailbox], local_provider: control.Instance) -> Mailbox:
    mailbox = make_mailbox("shared-billing", persona="microsoft")
    control.append_messages(local_provider, mailbox.address, [control.make_message(recipient=mailbox.address)])
    return mailbox


def _token(mailbox: Mailbox) -> str:
    return local_consent(mailbox.address, mailbox.password, "microsoft").access_token


def test_a_delegates_token_opens_the_shared_mailbox_until_the_access_is_removed(
    local_provider: control.Instance, make_mailbox: Callable[..., Mailbox], shared: Mailbox
) -> None:
    dana = make_mailbox("dana", persona="microsoft")
    token = _token(dana)
    assert "AUTHENTICATE failed." in xoauth2_refused(local_provider, shared.address, token)  # not a delegate yet

    said = control.set_delegate(local_provider, shared.address, dana.address)
    assert said == f"{dana.address} has Full Access to {shared.address}"
    assert control.mailbox_state(local_provider, shared.address).delegates == (dana.address,)
    assert xoauth2_open(local_provider, shared.address, token) == 1  # the shared mailbox, not Dana's (empty) own
    assert xoauth2_open(local_provider, dana.address, token) == 0  # her own token still opens her own mailbox

    control.set_delegate(local_provider, shared.address, dana.address, allowed=False)
    assert control.mailbox_state(local_provider, shared.address).delegates == ()
    # Exchange's words, no challenge (recorded.json, `authenticate_failed`).
    assert "AUTHENTICATE failed." in xoauth2_refused(local_provider, shared.address, token)
    assert xoauth2_open(local_provider, dana.address, token) == 0


def test_a_stranger_a_revoked_delegate_and_a_password_are_refused(
    local_provider: control.Instance, make_mailbox: Callable[..., Mailbox], shared: Mailbox
) -> None:
    dana, stranger = make_mailbox("dana", persona="microsoft"), make_mailbox("jo", persona="microsoft")
    control.set_delegate(local_provider, shared.address, dana.address)
    dana_token = _token(dana)
    assert "AUTHENTICATE failed." in xoauth2_refused(local_provider, shared.address, _token(stranger))
    control.revoke_tokens(local_provider, dana.address)  # her password changed: her tokens are dead
    assert "AUTHENTICATE failed." in xoauth2_refused(local_provider, shared.address, dana_token)
    # Delegation is for bearer tokens: the delegate's password does not open the shared mailbox.
    imap = IMAPClient(local_provider.imap_host, port=local_provider.imap_port, ssl=False, timeout=10)
    with imap as client, pytest.raises(LoginError):
        client.login(shared.address, dana.password)


def test_giving_access_names_unknown_mailboxes(local_provider: control.Instance, shared: Mailbox) -> None:
    with pytest.raises(control.LocalProviderError, match="no mailbox nobody@acme.test"):
        control.set_delegate(local_provider, shared.address, "nobody@acme.test")
    with pytest.raises(control.LocalProviderError, match="cannot be its own delegate"):
        control.set_delegate(local_provider, shared.address, shared.address)


def test_the_cli_gives_and_removes_access(
    local_provider: control.Instance, make_mailbox: Callable[..., Mailbox], shared: Mailbox
) -> None:
    dana = make_mailbox("dana", persona="microsoft")

    def cli(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "localprovider", "delegate", shared.address, dana.address, *args],
            env={**os.environ, **local_provider.environ()},
            cwd=REPO_DIR,
            capture_output=True,
            timeout=60,
            text=True,
            check=True,
        )
        return done.stdout.strip()

    assert cli() == f"{dana.address} has Full Access to {shared.address}"
    assert cli("--remove") == f"{dana.address} no longer has Full Access to {shared.address}"
    assert control.mailbox_state(local_provider, shared.address).delegates == ()
