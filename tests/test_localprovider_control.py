"""`localprovider.control`'s account actions: at the admin endpoint while the OAuth server runs, in a
subprocess when it does not, with the same answers and errors either way.

Runs against the suite's own provider instance (`local_provider`), like the tests that use it.
"""

import http.client
import json
import socket
import stat
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from imapclient import IMAPClient

from channels_app.demo import local_consent
from localprovider import control
from tests.provider_fixtures import Mailbox

pytestmark = pytest.mark.local_provider


def _address(local_part: str = "ctl") -> str:
    return f"{local_part}-{uuid.uuid4().hex[:8]}@acme.test"


def _post(
    instance: control.Instance,
    action: str,
    payload: object,
    authorization: str | None = "Bearer {secret}",
    source: str | None = None,
) -> tuple[int, dict[str, object]]:
    """POST /_control/<action> as a script would, from `source` (an address of this machine) if given."""
    connection = http.client.HTTPConnection(
        instance.host, instance.http_port, timeout=10, source_address=(source, 0) if source else None
    )
    headers = {"Content-Type": "application/json"}
    if authorization is not None:
        headers["Authorization"] = authorization.format(secret=instance.admin_secret())
    try:
        connection.request("POST", f"/_control/{action}", body=json.dumps(payload), headers=headers)
        answer = connection.getresponse()
        return answer.status, json.loads(answer.read())
    finally:
        connection.close()


def _userinfo_status(instance: control.Instance, access_token: object) -> int:
    return requests.get(
        instance.userinfo_url, headers={"Authorization": f"Bearer {access_token}"}, timeout=10
    ).status_code


def test_the_admin_secret_is_kept_private(local_provider: control.Instance) -> None:
    path = local_provider.dir / "admin-secret"
    assert local_provider.admin_secret() and stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer ", "Bearer not-the-secret", "Bearer {secret}x", "Basic {secret}"],
    ids=["missing", "empty", "wrong", "longer", "other-scheme"],
)
def test_the_endpoint_refuses_anyone_without_the_secret(
    local_provider: control.Instance, make_mailbox: Callable[..., Mailbox], authorization: str | None
) -> None:
    mailbox = make_mailbox("refused")
    token = control.issue_tokens(local_provider, [mailbox.address])[mailbox.address]
    refused = _post(local_provider, "revoke", {"email": mailbox.address}, authorization)
    assert refused == (403, {"error": "forbidden"})
    assert _userinfo_status(local_provider, token["access_token"]) == 200  # nothing was revoked


def test_the_endpoint_refuses_a_client_off_loopback(
    local_provider: control.Instance, make_mailbox: Callable[..., Mailbox]
) -> None:
    """Even with the right secret. The server listens on 127.0.0.1 only; a client bound to one of this
    machine's other addresses still reaches it, which is how the check is exercised here."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the outgoing address
            own_address = probe.getsockname()[0]
    except OSError:
        pytest.skip("this machine has no address but loopback")
    if own_address.startswith("127."):
        pytest.skip("this machine has no address but loopback")
    mailbox = make_mailbox("offloop")
    token = control.issue_tokens(local_provider, [mailbox.address])[mailbox.address]
    assert _post(local_provider, "revoke", {"email": mailbox.address}, source=own_address)[0] == 403
    assert _userinfo_status(local_provider, token["access_token"]) == 200
    assert _post(local_provider, "revoke", {"email": mailbox.address})[0] == 200  # from loopback: yes


def test_the_endpoint_names_what_is_wrong_with_a_request(local_provider: control.Instance) -> None:
    assert _post(local_provider, "nope", {}) == (
        400,
        {
            "error": "no action 'nope'; one of set-user, set-users, issue-tokens, revoke, expire, expire-client, "
            "token-state, delegate, register-client"
        },
    )
    assert _post(local_provider, "revoke", ["x"]) == (400, {"error": "the body must be a JSON object"})
    assert _post(local_provider, "revoke", {}) == (400, {"error": "email must be a non-empty string"})


def _every_action(instance: control.Instance, address: str, password: str) -> list[object]:
    """Each account action once, answers with the address and tokens taken out, so two runs compare."""
    other = _address("ctl-many")
    answers: list[object] = [control.create_mailbox(instance, address.upper(), "first") == address]
    control.set_password(instance, address, password)
    answers.append(control.create_mailboxes(instance, [(other, "pw")]) == [other])
    issued = control.issue_tokens(instance, [address, other])
    answers.append(
        {email: sorted(token) for email, token in issued.items()}
        == {email: ["access_token", "expires_in", "refresh_token"] for email in (address, other)}
    )
    answers.append(control.expire_tokens(instance, address).replace(address, "ADDRESS"))
    answers.append(control.revoke_tokens(instance, other).replace(other, "OTHER"))
    given = control.set_delegate(instance, other, address, allowed=False)
    answers.append(given.replace(other, "OTHER").replace(address, "ADDRESS"))
    unknown = _address("nobody")
    for failing in (control.revoke_tokens, control.expire_tokens, lambda i, a: control.issue_tokens(i, [a])):
        with pytest.raises(control.LocalProviderError) as failed:
            failing(instance, unknown)
        answers.append(str(failed.value).replace(unknown, "UNKNOWN"))
    return answers


def test_actions_answer_the_same_with_the_server_stopped(provider_servers: control.Instance) -> None:
    """Stopped, the actions run in a subprocess, on the same database: what they did is there once the
    server is back (a password to sign in with, a token that works)."""
    instance = provider_servers
    over_http = _every_action(instance, _address(), "second")
    assert over_http == [
        True,
        True,
        True,
        "expired 1 access tokens of ADDRESS",
        "revoked 1 refresh and 0 other access tokens of OTHER",
        "ADDRESS no longer has Full Access to OTHER",
        "localprovider revoke failed: no mailbox account UNKNOWN",
        "localprovider expire failed: no mailbox account UNKNOWN",
        "localprovider issue-tokens failed: no mailbox account UNKNOWN",
    ]

    control.stop_http(instance)
    address = _address("offline")
    assert _every_action(instance, address, "set-while-stopped") == over_http
    token = control.issue_tokens(instance, [address])[address]
    control.start_http(instance)

    assert _userinfo_status(instance, token["access_token"]) == 200
    assert local_consent(address, "set-while-stopped").access_token  # the sign-in page knows the password
    with IMAPClient(instance.imap_host, port=instance.imap_port, ssl=False, timeout=10) as client:
        client.login(address, "set-while-stopped")  # and so does Dovecot


def test_an_action_that_fails_changes_nothing(
    local_provider: control.Instance, make_mailbox: Callable[..., Mailbox]
) -> None:
    mailbox = make_mailbox("atomic")
    with pytest.raises(control.LocalProviderError, match="no mailbox account"):
        control.issue_tokens(local_provider, [mailbox.address, _address("nobody")])
    assert control.revoke_tokens(local_provider, mailbox.address).startswith("revoked 0 refresh and 0 other")


def test_admin_calls_and_token_requests_at_once_do_not_lock_the_database(local_provider: control.Instance) -> None:
    """The server is threaded and SQLite has one writer: the others wait their turn (busy timeout,
    transactions that take the write lock first) instead of failing with "database is locked"."""
    log_before = local_provider.http_log.stat().st_size
    addresses = control.create_mailboxes(local_provider, [(_address("busy"), "pw") for _ in range(12)])
    tokens = control.issue_tokens(local_provider, addresses)

    def refresh(address: str) -> int:
        answer = requests.post(
            local_provider.token_url,
            data={"grant_type": "refresh_token", "refresh_token": tokens[address]["refresh_token"]},
            auth=(local_provider.client_id, local_provider.client_secret),
            timeout=30,
        )
        return answer.status_code

    def churn(address: str) -> int:
        control.set_password(local_provider, address, "pw-2")
        control.issue_tokens(local_provider, [address])
        control.expire_tokens(local_provider, address)
        return 200

    with ThreadPoolExecutor(max_workers=8) as pool:
        calls = [pool.submit(refresh, a) for a in addresses] + [pool.submit(churn, a) for a in addresses]
        assert [call.result() for call in calls] == [200] * len(calls)
    with local_provider.http_log.open("rb") as log:
        log.seek(log_before)
        assert b"database is locked" not in log.read()


def test_token_state_names_the_newest_tokens_and_every_live_one(local_provider: control.Instance) -> None:
    address = _address("state")
    control.create_mailbox(local_provider, address, "pw-state")
    control.issue_tokens(local_provider, [address])
    control.issue_tokens(local_provider, [address])
    before = control.token_state(local_provider, address)
    assert len(before["live_refresh"]) == len(before["live_access"]) == 2
    assert control.newest_still_live(before) == {"refresh": True, "access": True}
    control.revoke_tokens(local_provider, address)
    after = control.token_state(local_provider, address)
    assert after["live_refresh"] == after["live_access"] == []
    assert control.newest_still_live(before, after) == {"refresh": False, "access": False}
    with pytest.raises(control.LocalProviderError, match="no mailbox account"):
        control.token_state(local_provider, _address("nobody"))
