"""The IMAP front of Local mail: recorded answers at their phase, refusals in each persona's words.

The first half runs the front in-process over its in-memory mailbox (no Dovecot, no root: runs
anywhere); the second half (marked local_provider) runs the real front before the real Dovecot.
"""

import base64
import contextlib
import json
import os
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError, LoginError

from localprovider import control, dovecot, personas
from localprovider.imap_front import ImapFront
from localprovider.imap_front.memory import WELCOME
from localprovider.personas import MailboxState
from tests.provider_fixtures import start_or_skip

REFUSED_SECRET = "refused-secret"
BEARER = ("XOAUTH2", "OAUTHBEARER")
RECORDED = [
    pytest.param(persona, name, entry, id=f"{persona}-{name}")
    for persona in personas.PERSONAS
    for name, entry in personas.recorded(persona, "imap").items()
]


class Mailboxes:
    """The states the in-process front reads: {address: MailboxState}; unknown addresses are plain."""

    def __init__(self) -> None:
        self.states: dict[str, MailboxState] = {}
        self._seq = 0

    def add(self, **state: object) -> str:
        self._seq += 1
        address = f"box{self._seq}@acme.test"
        self.states[address] = MailboxState(**state)  # type: ignore[arg-type]
        return address

    def state_for(self, address: str) -> MailboxState:
        return self.states.get(address.lower(), MailboxState())


@pytest.fixture(scope="module")
def mailboxes() -> Mailboxes:
    return Mailboxes()


@pytest.fixture(scope="module")
def front(mailboxes: Mailboxes) -> Iterator[tuple[ImapFront, int]]:
    front = ImapFront(
        upstream=None, state_for=mailboxes.state_for, refuses=lambda _user, secret: secret == REFUSED_SECRET
    )
    with front.running() as port:
        yield front, port


@pytest.fixture
def connect(front: tuple[ImapFront, int]) -> Iterator[Callable[[], IMAPClient]]:
    clients: list[IMAPClient] = []

    def open_client() -> IMAPClient:
        clients.append(IMAPClient("127.0.0.1", port=front[1], ssl=False, timeout=5))
        return clients[-1]

    yield open_client
    for client in clients:
        with contextlib.suppress(OSError):
            client.shutdown()


class Login:
    """One login by `mechanism`. For XOAUTH2 and OAUTHBEARER it is the SASL client, and answers an error
    challenge with an empty response as Google documents
    (https://developers.google.com/workspace/gmail/imap/xoauth2-protocol#error_response)."""

    def __init__(self, mechanism: str, user: str, secret: str) -> None:
        self.mechanism, self.user, self.secret = mechanism, user, secret
        self.challenges: list[dict[str, str]] = []

    def __call__(self, challenge: bytes) -> bytes:
        if challenge:
            self.challenges.append(json.loads(challenge))
            return b""
        auth = f"auth=Bearer {self.secret}\x01\x01"
        return (
            f"user={self.user}\x01{auth}" if self.mechanism == "XOAUTH2" else f"n,a={self.user},\x01{auth}"
        ).encode()

    def run(self, client: IMAPClient) -> None:
        if self.mechanism == "LOGIN":
            client.login(self.user, self.secret)
        elif self.mechanism == "PLAIN":
            client.plain_login(self.user, self.secret)
        else:
            client.sasl_login(self.mechanism, self)


def _text(reply: str) -> str:
    """A reply without its status word: what the client's exception quotes."""
    return reply.split(" ", 1)[1]


@pytest.mark.parametrize("mechanism", ["LOGIN", "XOAUTH2", "OAUTHBEARER"])
@pytest.mark.parametrize(("persona", "name", "entry"), RECORDED)
def test_every_recorded_answer_reaches_imapclient_at_its_phase(mailboxes, connect, mechanism, persona, name, entry):
    address = mailboxes.add(persona=persona, imap_answer=name)
    client, login = connect(), Login(mechanism, address, "a-password-or-token")

    if entry["phase"] == "login":
        with pytest.raises(LoginError) as refused:
            login.run(client)
        assert _text(entry["reply"]) in str(refused.value)
        assert login.challenges == ([entry["challenge"]] if "challenge" in entry and mechanism in BEARER else [])
        return

    login.run(client)
    if entry["phase"] == "after_login":
        with pytest.raises(IMAPClientError, match="BAD") as refused:
            client.select_folder("INBOX", readonly=True)
        assert _text(entry["reply"]) in str(refused.value)
    else:
        assert client.select_folder("INBOX", readonly=True)[b"EXISTS"] == 1
        assert client.search(["UID", "1:*"]) == [1]
        with pytest.raises(IMAPClientError) as refused:
            client.fetch([1], ["BODY.PEEK[]"])
        assert _text(entry["reply"]) in str(refused.value)
    assert client.logout() == b"Logging out"


@pytest.mark.parametrize(("persona", "name", "entry"), [p for p in RECORDED if p.values[2]["phase"] == "login"])
def test_the_wire_carries_exactly_the_recorded_lines(front, mailboxes, persona, name, entry):
    address = mailboxes.add(persona=persona, imap_answer=name)
    initial = base64.b64encode(f"user={address}\x01auth=Bearer a-token\x01\x01".encode())
    with socket.create_connection(("127.0.0.1", front[1]), timeout=5) as sock:
        lines = sock.makefile("rb")
        assert lines.readline().startswith(b"* OK [CAPABILITY IMAP4rev1 ")
        sock.sendall(b"a1 AUTHENTICATE XOAUTH2 " + initial + b"\r\n")
        if "challenge" in entry:
            challenge = lines.readline()
            assert challenge.startswith(b"+ ") and json.loads(base64.b64decode(challenge[2:])) == entry["challenge"]
            sock.sendall(b"\r\n")
        assert lines.readline() == f"a1 {entry['reply']}\r\n".encode()


@pytest.mark.parametrize("mechanism", ["LOGIN", "PLAIN", "XOAUTH2", "OAUTHBEARER"])
@pytest.mark.parametrize("persona", ["google", "microsoft"])
def test_a_refused_login_is_worded_as_the_persona_words_it(mailboxes, connect, persona, mechanism):
    refusal = personas.refusal(persona)
    assert refusal is not None
    login = Login(mechanism, mailboxes.add(persona=persona), REFUSED_SECRET)
    with pytest.raises(LoginError) as refused:
        login.run(connect())
    assert _text(refusal["reply"]) in str(refused.value)
    # The persona's challenge (Google's) for a bearer login, never Dovecot's as well; none for Microsoft.
    assert login.challenges == ([refusal["challenge"]] if "challenge" in refusal and mechanism in BEARER else [])


def test_the_plain_persona_keeps_dovecots_own_refusal(mailboxes, connect):
    address = mailboxes.add(persona="plain")
    login = Login("XOAUTH2", address, REFUSED_SECRET)
    with pytest.raises(LoginError, match=r"\[AUTHENTICATIONFAILED\] Authentication failed\."):
        login.run(connect())
    assert login.challenges == [{"status": "401", "schemes": "bearer", "scope": "mail"}]
    with pytest.raises(LoginError, match=r"\[AUTHENTICATIONFAILED\] Authentication failed\."):
        connect().login(address, REFUSED_SECRET)


def test_imapclients_own_xoauth2_login_gets_the_answer_too(mailboxes, connect):
    """imapclient.oauth2_login answers a challenge with its token again; the reply is the same."""
    address = mailboxes.add(persona="google", imap_answer="too_many_connections")
    with pytest.raises(LoginError, match=r"\[ALERT\] Too many simultaneous connections\. \(Failure\)"):
        connect().oauth2_login(address, "a-token")


def test_a_login_without_forced_answer_serves_the_one_message(mailboxes, connect):
    address = mailboxes.add(persona="google")
    client = connect()
    client.oauth2_login(address, "a-token")
    selected = client.select_folder("INBOX", readonly=True)
    assert (selected[b"EXISTS"], selected[b"UIDVALIDITY"], selected[b"UIDNEXT"]) == (1, 1, 2)
    assert client.noop()[0] == b"NOOP completed."
    assert client.search(["UID", "1:*"]) == [1]
    assert client.search(["ALL"]) == [1]
    assert client.search(["LARGER", 10]) == [1]
    assert client.search(["LARGER", len(WELCOME.content)]) == []
    assert client.fetch([1], ["RFC822.SIZE"])[1][b"RFC822.SIZE"] == len(WELCOME.content)
    assert client.fetch([1], ["BODY.PEEK[]"])[1][b"BODY[]"] == WELCOME.content
    assert client.logout() == b"Logging out"


def test_idle_is_served_through_the_front(mailboxes, connect):
    client = connect()
    client.login(mailboxes.add(), "any password")
    client.select_folder("INBOX", readonly=True)
    client.idle()
    assert client.idle_check(timeout=0.2) == []
    text, _ = client.idle_done()
    assert text == b"Idle completed."
    assert client.noop()[0] == b"NOOP completed."


def test_a_change_of_state_applies_to_the_next_login(mailboxes, connect):
    address = mailboxes.add(persona="google", imap_answer="bandwidth_exceeded")
    with pytest.raises(LoginError, match="exceeded command or bandwidth"):
        connect().login(address, "pw")
    mailboxes.states[address] = MailboxState(persona="google")
    connect().login(address, "pw")


def test_literals_in_login_name_the_mailbox(front, mailboxes):
    address = mailboxes.add(persona="microsoft", imap_answer="unrecognised_answer")
    with socket.create_connection(("127.0.0.1", front[1]), timeout=5) as sock:
        lines = sock.makefile("rb")
        lines.readline()
        sock.sendall(b"a1 LOGIN {%d}\r\n" % len(address))
        assert lines.readline() == b"+ OK\r\n"
        sock.sendall(address.encode() + b" {2+}\r\npw\r\n")
        assert lines.readline() == b"a1 NO [XNEWCODE] A condition this app has never seen.\r\n"
        sock.sendall(b'a2 LOGIN "plain@acme.test" {2+}\r\npw\r\n')
        assert lines.readline().startswith(b"a2 OK ")


def test_a_client_that_drops_leaves_no_connection_behind(front, mailboxes):
    google = mailboxes.add(persona="google", imap_answer="too_many_connections")
    initial = base64.b64encode(f"user={google}\x01auth=Bearer a-token\x01\x01".encode())
    for script in (
        b"",  # right after the greeting
        b"a1 AUTHENTICATE XOAUTH2 " + initial + b"\r\n",  # in the middle of the challenge
        b"a1 LOGIN plain@acme.test pw\r\na2 SELECT INBOX\r\n",  # in the byte relay
        b"a1 LOGIN {30}\r\n",  # in the middle of a literal
    ):
        with socket.create_connection(("127.0.0.1", front[1]), timeout=5) as sock:
            sock.makefile("rb").readline()
            sock.sendall(script)
            time.sleep(0.05)
    deadline = time.monotonic() + 5
    while front[0].open_connections and time.monotonic() < deadline:
        time.sleep(0.02)
    assert front[0].open_connections == 0


def test_a_line_without_a_command_gets_an_untagged_bad_as_from_dovecot(front):
    with socket.create_connection(("127.0.0.1", front[1]), timeout=5) as sock:
        lines = sock.makefile("rb")
        lines.readline()
        sock.sendall(b"\r\na1 NOOP\r\n")
        assert lines.readline() == b"* BAD Error in IMAP command received by server.\r\n"
        assert lines.readline().startswith(b"a1 OK")


# --- The real front before the real Dovecot -------------------------------------------------------------

_HTTP_PORT = int(os.environ["LOCAL_PROVIDER_HTTP_PORT"]) + 3
# Three ports above the main suite's instance (tests/test_localprovider.py takes the next one).
LIVE = control.Instance(
    dir=Path(__file__).resolve().parent.parent / ".testbed" / f"test-front-{_HTTP_PORT}",
    http_port=_HTTP_PORT,
    imap_port=int(os.environ["LOCAL_PROVIDER_IMAP_PORT"]) + 3,
)
# What Dovecot 2.3 sends on a refused XOAUTH2 login before its tagged NO.
DOVECOT_XOAUTH2_CHALLENGE = {"status": "401", "schemes": "bearer", "scope": "mail"}


@pytest.fixture(scope="module")
def live() -> Iterator[control.Instance]:
    start_or_skip(LIVE)
    try:
        yield LIVE
    finally:
        control.stop(LIVE)


def _mailbox(live: control.Instance, **state: object) -> tuple[str, str]:
    address, password = f"front-{uuid.uuid4().hex[:8]}@acme.test", f"pw-{uuid.uuid4().hex[:8]}"
    control.create_mailbox(live, address, password)
    if state:
        personas.write_state(live.dir, address, **state)
    return address, password


def _client(live: control.Instance) -> IMAPClient:
    return IMAPClient(live.imap_host, port=live.imap_port, ssl=False, timeout=10)


@pytest.mark.local_provider
@pytest.mark.parametrize(
    ("persona", "name", "mechanism"),
    [
        ("google", "too_many_connections", "XOAUTH2"),
        ("google", "imap_disabled", "LOGIN"),
        ("microsoft", "not_connected", "LOGIN"),
        ("google", "overquota", "LOGIN"),
    ],
)
def test_live_forced_answers_come_at_their_phase(live, persona, name, mechanism):
    entry = personas.recorded(persona, "imap")[name]
    address, password = _mailbox(live, persona=persona, imap_answer=name)
    control.append_messages(live, address, [control.make_message(recipient=address)])
    login = Login(mechanism, address, password if mechanism == "LOGIN" else "any-token: Dovecot is not asked")
    with _client(live) as client:
        if entry["phase"] == "login":
            with pytest.raises(LoginError) as refused:
                login.run(client)
            assert _text(entry["reply"]) in str(refused.value)
            assert login.challenges == ([entry["challenge"]] if mechanism in BEARER else [])
            return
        login.run(client)
        if entry["phase"] == "after_login":
            with pytest.raises(IMAPClientError, match="BAD") as refused:
                client.select_folder("INBOX", readonly=True)
        else:
            assert client.select_folder("INBOX", readonly=True)[b"EXISTS"] == 1  # Dovecot's own answer
            with pytest.raises(IMAPClientError) as refused:
                client.fetch(client.search(["ALL"]), ["BODY.PEEK[]"])
        assert _text(entry["reply"]) in str(refused.value)
    log = live.imap_front_log.read_text()
    assert f"{address}: " in log and password not in log


@pytest.mark.local_provider
def test_live_dovecots_refusals_are_worded_as_each_persona_words_them(live):
    address, password = _mailbox(live)
    token = str(control.issue_tokens(live, [address])[address]["access_token"])
    with _client(live) as client:
        client.oauth2_login(address, token)  # the token works through the front
    control.revoke_tokens(live, address)

    google, microsoft = personas.refusal("google"), personas.refusal("microsoft")
    assert google is not None and microsoft is not None
    expected = {
        "google": (google["reply"], [google["challenge"]]),
        "microsoft": (microsoft["reply"], []),
        "plain": ("NO [AUTHENTICATIONFAILED] Authentication failed.", [DOVECOT_XOAUTH2_CHALLENGE]),
    }
    for persona, (reply, challenges) in expected.items():
        personas.write_state(live.dir, address, persona=persona)  # read again at the next login
        revoked = Login("XOAUTH2", address, token)
        with _client(live) as client, pytest.raises(LoginError) as refused:
            revoked.run(client)
        assert _text(reply) in str(refused.value), persona
        assert revoked.challenges == challenges, persona  # exactly one challenge, the persona's
        with _client(live) as client, pytest.raises(LoginError) as refused:
            client.login(address, "a wrong password")
        assert _text(reply) in str(refused.value), persona
    assert token not in live.imap_front_log.read_text()


@pytest.mark.local_provider
def test_live_a_normal_login_fetches_the_delivered_messages(live):
    address, password = _mailbox(live, persona="google")
    messages = [control.make_message(recipient=address, subject=f"Message {n}") for n in range(3)]
    control.append_messages(live, address, messages)
    with _client(live) as client:
        client.login(address, password)
        assert client.select_folder("INBOX", readonly=True)[b"EXISTS"] == 3
        uids = client.search(["ALL"])
        fetched = client.fetch(uids, ["BODY.PEEK[]"])
        assert sorted(fetched[uid][b"BODY[]"] for uid in uids) == sorted(messages)
        assert client.logout().startswith(b"Logging out")


def _new_mail_during_idle(live: control.Instance, address: str, password: str) -> list[tuple[object, ...]]:
    with _client(live) as client:
        client.login(address, password)
        client.select_folder("INBOX", readonly=True)
        client.idle()
        control.append_messages(live, address, [control.make_message(recipient=address)])
        deadline = time.monotonic() + 10
        seen: list[tuple[object, ...]] = []
        while not any(r[1:2] == (b"EXISTS",) for r in seen) and time.monotonic() < deadline:
            seen += client.idle_check(timeout=1)
        text, _ = client.idle_done()
        assert text.startswith(b"Idle completed")
        return seen


@pytest.mark.local_provider
@pytest.mark.parametrize(
    "state",
    [
        pytest.param({}, id="relayed"),
        pytest.param({"persona": "google", "imap_answer": "overquota"}, id="fetch-forced"),
    ],
)
def test_live_idle_passes_through_and_new_mail_is_announced(live, state):
    """Dovecot's IDLE reaches the client whether the front relays bytes or reads each command (a forced
    answer on fetches): "+ idling", the untagged EXISTS when mail arrives, DONE answered OK."""
    address, password = _mailbox(live, **state)
    assert (1, b"EXISTS") in _new_mail_during_idle(live, address, password)


@pytest.mark.local_provider
def test_live_literals_in_login_reach_dovecot(live):
    address, password = _mailbox(live)
    with socket.create_connection((live.imap_host, live.imap_port), timeout=10) as sock:
        lines = sock.makefile("rb")
        assert lines.readline().startswith(b"* OK")
        sock.sendall(b"a1 LOGIN {%d}\r\n" % len(address))
        assert lines.readline() == b"+ OK\r\n"
        sock.sendall(address.encode() + b" {%d+}\r\n" % len(password) + password.encode() + b"\r\n")
        while (line := lines.readline()).startswith(b"* "):
            pass
        assert line.startswith(b"a1 OK ")
        sock.sendall(b"a2 EXAMINE INBOX\r\n")
        while (line := lines.readline()).startswith(b"* "):
            pass
        assert line.startswith(b"a2 OK [READ-ONLY]")


@pytest.mark.local_provider
def test_live_stopping_imap_refuses_connections(live):
    control.stop_imap(live)
    try:
        assert control.status(live)["imap"] is False
        with pytest.raises(ConnectionRefusedError):
            _client(live)
    finally:
        control.start_imap(live)
    assert control.status(live)["imap"] is True


@pytest.fixture
def squatter(live: control.Instance) -> Iterator[socket.socket]:
    """Something else listening on the instance's IMAP port, while its IMAP side is down."""
    control.stop_imap(live)
    squatter = socket.socket()
    squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # past the TIME_WAITs of earlier tests
    squatter.bind((live.imap_host, live.imap_port))
    squatter.listen()
    try:
        yield squatter
    finally:
        squatter.close()
        control.start_imap(live)


@pytest.mark.local_provider
def test_live_imap_does_not_start_on_a_port_taken_by_something_else(live, squatter):
    with pytest.raises(control.LocalProviderError, match="is taken by something else"):
        control.start_imap(live)
    assert not dovecot.is_running(live)  # the IMAP side runs whole or not at all


@pytest.mark.local_provider
def test_live_a_front_that_cannot_listen_fails_with_its_log_and_stops_dovecot(live, squatter, monkeypatch):
    # As if the port were taken between the check and the front's own bind.
    monkeypatch.setattr("localprovider.imap_front.process.port_accepts", lambda *_args, **_kwargs: False)
    with pytest.raises(control.LocalProviderError, match="(?s)did not come up.*cannot listen"):
        control.start_imap(live)
    assert not dovecot.is_running(live)
    assert not (live.dir / "imap-front.pid").exists()
