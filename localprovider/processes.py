"""Small process and socket helpers shared by the HTTP server and Dovecot management."""

import errno
import os
import signal
import socket
import time
from collections.abc import Callable
from pathlib import Path


def port_accepts(host: str, port: int, timeout: float = 0.5) -> bool:
    """Whether something listens on host:port (connect succeeds)."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def imap_greets(host: str, port: int, timeout: float = 2.0) -> bool:
    """Whether an IMAP server answers with its `* OK` greeting (Dovecot listens before it is ready)."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            greeted = sock.recv(64).startswith(b"* OK")
            if greeted:
                sock.sendall(b"a LOGOUT\r\n")  # a polite goodbye keeps "connection reset" out of the log
            return greeted
    except OSError:
        return False


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.05) -> bool:
    """Polls `predicate` until it holds or `timeout` seconds passed; returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def pid_alive(pid: int) -> bool:
    """Whether process `pid` exists; reaps it first if it is our exited child (else it stays a zombie)."""
    try:
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    except ChildProcessError:
        pass  # not our child: the provider was started by another process (CLI, other test run)
    try:
        os.kill(pid, 0)
    except OSError as e:
        return e.errno == errno.EPERM
    return not _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    """A daemon that exited stays a zombie until its adoptive parent (init) reaps it, which some
    container inits do only every few seconds: it is dead for our purposes."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] == "Z"


def read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def terminate(pid: int, timeout: float = 5.0) -> None:
    """SIGTERM, then SIGKILL if `pid` is still there after `timeout` seconds."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    if not wait_until(lambda: not pid_alive(pid), timeout):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            return
        wait_until(lambda: not pid_alive(pid), 2.0)


def log_tail(path: Path, lines: int = 20) -> str:
    """The end of a log file, for error messages that say why a process did not come up."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return f"(no log at {path})"
