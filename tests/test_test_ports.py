"""Two test suites at once: each takes its own block of ports and folder (config/test_ports.py)."""

import contextlib
import fcntl
import socket

import pytest

from config import test_ports


@pytest.fixture
def blocks(monkeypatch, tmp_path):
    """Blocks from ports nobody else here uses, and the module's held lock restored afterwards (this very
    suite holds one)."""
    monkeypatch.setattr(test_ports, "_held", None)
    monkeypatch.setattr(test_ports, "HTTP_BASE", 9660)
    monkeypatch.setattr(test_ports, "IMAP_BASE", 15660)
    monkeypatch.setattr(test_ports, "PUBSUB_BASE", 9560)
    monkeypatch.setattr(test_ports, "BLOCKS", 3)
    return tmp_path


def test_ports_the_caller_names_are_kept_and_nothing_is_locked(blocks):
    env = {"LOCAL_PROVIDER_HTTP_PORT": "9700", "LOCAL_PROVIDER_IMAP_PORT": "15800"}
    chosen = test_ports.claim(blocks, env)
    assert chosen["LOCAL_PROVIDER_HTTP_PORT"] == "9700" and chosen["LOCAL_PROVIDER_IMAP_PORT"] == "15800"
    assert env["LOCAL_PROVIDER_DIR"] == str(blocks / "test")
    assert test_ports._held is None and not list(blocks.glob("*.lock"))


def test_the_first_free_block_is_taken_and_held(blocks):
    env: dict[str, str] = {}
    test_ports.claim(blocks, env)
    assert env == {
        "LOCAL_PROVIDER_HTTP_PORT": "9660",
        "LOCAL_PROVIDER_IMAP_PORT": "15660",
        "LOCAL_PROVIDER_DIR": str(blocks / "test"),
        "PUBSUB_EMULATOR_PORT": "9560",
    }
    with open(blocks / "suite-9660.lock", "w") as other, pytest.raises(BlockingIOError):  # another suite
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)


def test_a_block_another_suite_holds_is_passed_over(blocks):
    with open(blocks / "suite-9660.lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        env: dict[str, str] = {}
        test_ports.claim(blocks, env)
    assert env["LOCAL_PROVIDER_HTTP_PORT"] == "9670" and env["LOCAL_PROVIDER_IMAP_PORT"] == "15670"
    assert env["LOCAL_PROVIDER_DIR"] == str(blocks / "test-9670")
    assert env["PUBSUB_EMULATOR_PORT"] == "9570"


def test_a_block_with_a_port_in_use_is_passed_over(blocks):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 15660 + 1000 + 2))  # one of the first block's Dovecot ports
        busy.listen()
        env: dict[str, str] = {}
        test_ports.claim(blocks, env)
    assert env["LOCAL_PROVIDER_HTTP_PORT"] == "9670"
    # The passed-over block's lock was let go: the next suite may take it once the port is free.
    with open(blocks / "suite-9660.lock", "w") as again:
        fcntl.flock(again, fcntl.LOCK_EX | fcntl.LOCK_NB)


def test_when_every_block_is_taken_it_says_how_to_choose(blocks):
    with contextlib.ExitStack() as stack:
        for i in range(3):
            lock = stack.enter_context(open(blocks / f"suite-{9660 + 10 * i}.lock", "w"))
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(RuntimeError, match="set LOCAL_PROVIDER_HTTP_PORT"):
            test_ports.claim(blocks, {})
