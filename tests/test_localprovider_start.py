"""Starting and stopping the local provider from anywhere: a long instance path, a start that fails.

Each test has an instance of its own, four and five ports above the main suite's (tests/test_localprovider.py,
_personas.py and test_imap_front.py take the three below).
"""

import os
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from imapclient import IMAPClient

from localprovider import control, dovecot
from localprovider.processes import port_accepts
from tests.provider_fixtures import skip_unavailable, start_or_skip

pytestmark = pytest.mark.local_provider

TESTBED = Path(__file__).resolve().parent.parent / ".testbed"
SUN_PATH_MAX = 108  # sockaddr_un.sun_path on Linux, with its terminating NUL


def _instance(name: str, offset: int) -> control.Instance:
    http_port = int(os.environ["LOCAL_PROVIDER_HTTP_PORT"]) + offset
    return control.Instance(
        dir=TESTBED / f"{name}-{http_port}",
        http_port=http_port,
        imap_port=int(os.environ["LOCAL_PROVIDER_IMAP_PORT"]) + offset,
    )


def _long(instance: control.Instance, length: int) -> control.Instance:
    """The same instance in a directory whose path is `length` characters long."""
    padding = length - len(str(instance.dir)) - 1
    path = instance.dir / ("d" * padding)
    assert len(str(path)) == length
    return control.Instance(dir=path, http_port=instance.http_port, imap_port=instance.imap_port)


def _processes_naming(instance: control.Instance) -> list[int]:
    """Processes whose command line or environment names the instance's directory (the OAuth server has it in
    its environment, Dovecot's master and the IMAP front in their command lines)."""
    needle = str(instance.dir).encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            seen = (entry / "cmdline").read_bytes() + (entry / "environ").read_bytes()
        except OSError:
            continue  # exited meanwhile
        if needle in seen:
            found.append(int(entry.name))
    return found


@pytest.fixture
def long_instance() -> Iterator[control.Instance]:
    instance = _long(_instance("test-long-path", 4), 150)
    try:
        yield instance
    finally:
        control.stop(instance)
        shutil.rmtree(instance.dir.parent, ignore_errors=True)


def test_the_provider_runs_from_a_150_character_path(long_instance: control.Instance) -> None:
    assert len(str(long_instance.dovecot_dir / "run" / "login" / "imap")) > SUN_PATH_MAX  # where sockets were
    start_or_skip(long_instance)
    control.create_mailbox(long_instance, "long@acme.test", "long-pw")
    with IMAPClient(long_instance.imap_host, port=long_instance.imap_port, ssl=False, timeout=10) as client:
        client.login("long@acme.test", "long-pw")  # Dovecot's login and auth processes talk over its sockets
        assert client.select_folder("INBOX")[b"EXISTS"] == 0

    runtime = long_instance.runtime_dir
    assert len(str(runtime / "run" / "token-login" / "imap-urlauth")) < SUN_PATH_MAX  # Dovecot's longest socket
    assert not str(runtime).startswith(str(long_instance.dir))
    assert runtime.is_dir() and (runtime.stat().st_mode & 0o777) == 0o700
    control.stop(long_instance)
    assert not runtime.exists()


def test_two_instances_have_their_own_runtime_directory() -> None:
    one, other = _instance("test-runtime-a", 4), _instance("test-runtime-b", 4)
    assert one.runtime_dir != other.runtime_dir
    assert one.runtime_dir == _instance("test-runtime-a", 4).runtime_dir


@pytest.fixture
def failing_instance() -> Iterator[control.Instance]:
    instance = _instance("test-failed-start", 5)
    shutil.rmtree(instance.dir, ignore_errors=True)  # logs from an earlier run would say nothing of this one
    try:
        yield instance
    finally:
        control.stop(instance)
        shutil.rmtree(instance.dir, ignore_errors=True)


def test_a_start_that_fails_after_the_oauth_server_came_up_stops_what_it_started(
    failing_instance: control.Instance,
) -> None:
    instance = failing_instance
    try:
        dovecot.check_can_run()
    except control.LocalProviderUnavailable as unavailable:
        skip_unavailable(unavailable)
    with socket.socket() as squatter:
        squatter.bind((instance.imap_host, instance.imap_port))
        squatter.listen()
        with pytest.raises(control.LocalProviderError, match=f"{instance.imap_port} is taken"):
            control.start(instance)
        # The IMAP port is checked once the OAuth server and Dovecot answered: both had started.
        assert instance.http_log.stat().st_size > 0 and instance.dovecot_log.stat().st_size > 0

        assert _processes_naming(instance) == []
        assert not port_accepts(instance.host, instance.http_port)
        assert not port_accepts(instance.imap_host, instance.dovecot_port)
        assert not instance.runtime_dir.exists()


def test_a_failed_start_leaves_an_oauth_server_it_did_not_start_running(failing_instance: control.Instance) -> None:
    instance = failing_instance
    start_or_skip(instance)
    control.stop_imap(instance)
    with socket.socket() as squatter:
        squatter.bind((instance.imap_host, instance.imap_port))
        squatter.listen()
        with pytest.raises(control.LocalProviderError, match=f"{instance.imap_port} is taken"):
            control.start(instance)
    assert control.status(instance) == {"http": True, "imap": False}
