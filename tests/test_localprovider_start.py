"""Starting and stopping the local provider from anywhere: an instance directory with a long path.

An instance of its own, four ports above the main suite's (tests/test_localprovider.py, _personas.py and
test_imap_front.py take the three below).
"""

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from imapclient import IMAPClient

from localprovider import control
from tests.provider_fixtures import start_or_skip

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
