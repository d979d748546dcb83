"""The IMAP front opens a shared mailbox for its delegates, and a mailbox for the applications Exchange gave
FullAccess (localprovider/imap_front/delegation.py).

In-process over the in-memory mailbox (no Dovecot, no root: runs anywhere): the upstream sees which login
the front sent it, so we see that a delegate's token became the master login for the shared mailbox, and
that anyone else's went on as it came and was refused in Exchange's words.
"""

from collections.abc import Iterator

import pytest
from imapclient import IMAPClient
from imapclient.exceptions import LoginError

from localprovider.imap_front import ImapFront
from localprovider.imap_front.delegation import Bearer, Delegation
from localprovider.personas import MailboxState

SHARED, DANA, JO = "billing@acme.test", "dana@acme.test", "jo@acme.test"
APP, OTHER_APP = "app-1", "app-2"
TOKENS = {
    "dana-token": Bearer(DANA, "channels-app", ("imap",)),
    "jo-token": Bearer(JO, "channels-app", ("imap",)),
    # Applications' own tokens: their subject is their client id; only consented ones carry the role.
    "app-token": Bearer(APP, APP, ("IMAP.AccessAsApp",)),
    "unconsented-app-token": Bearer(APP, APP, ()),
    "other-app-token": Bearer(OTHER_APP, OTHER_APP, ("IMAP.AccessAsApp",)),
}
MASTER_SECRET = "master-secret"


@pytest.fixture
def front() -> Iterator[tuple[int, list[tuple[str, str]]]]:
    """The front's port, and each (user, secret) its upstream was asked to accept (a SASL login is asked
    about twice by the in-memory server)."""
    asked: list[tuple[str, str]] = []
    # The upstream accepts the master login for the shared mailbox, and each token for its own owner only.
    accepted = {(f"{SHARED}*imap-front", MASTER_SECRET), *((bearer.subject, token) for token, bearer in TOKENS.items())}

    def refuses(user: str, secret: str) -> bool:
        asked.append((user, secret))
        return (user, secret) not in accepted

    states = {SHARED: MailboxState(persona="microsoft", delegates=(DANA,), applications=(APP, OTHER_APP))}
    front = ImapFront(
        upstream=None,
        state_for=lambda address: states.get(address.lower(), MailboxState(persona="microsoft")),
        refuses=refuses,
        delegation=Delegation(
            token_owner=TOKENS.get,
            master_secret=MASTER_SECRET,
            # Exchange knows only APP's service principal.
            app_access=lambda mailbox, applications, app_id: app_id == APP and app_id in applications,
        ),
    )
    with front.running() as port:
        yield port, asked


def _log_in(port: int, user: str, token: str) -> None:
    with IMAPClient("127.0.0.1", port=port, ssl=False, timeout=5) as client:
        client.oauth2_login(user, token)
        client.select_folder("INBOX", readonly=True)


def test_a_delegates_token_logs_in_to_the_shared_mailbox_as_the_master_user(front):
    port, asked = front
    _log_in(port, SHARED, "dana-token")
    assert set(asked) == {(f"{SHARED}*imap-front", MASTER_SECRET)}


def test_her_own_mailbox_is_opened_with_her_token_as_it_came(front):
    port, asked = front
    _log_in(port, DANA, "dana-token")
    assert set(asked) == {(DANA, "dana-token")}


def test_an_applications_token_with_its_role_and_access_logs_in_as_the_master_user(front):
    port, asked = front
    _log_in(port, SHARED, "app-token")
    assert set(asked) == {(f"{SHARED}*imap-front", MASTER_SECRET)}


@pytest.mark.parametrize("token", ["jo-token", "unknown-token", "unconsented-app-token", "other-app-token"])
def test_anyone_elses_token_goes_on_as_it_came_and_is_refused_in_exchanges_words(front, token):
    port, asked = front
    with pytest.raises(LoginError, match="AUTHENTICATE failed."):
        _log_in(port, SHARED, token)
    assert set(asked) == {(SHARED, token)}
