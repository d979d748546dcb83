"""The IMAP front as a process of an instance: on the instance's IMAP port, before its Dovecot.

Started detached (it outlives the CLI that started it), pid in <dir>/imap-front.pid, log in
<dir>/imap-front.log; `control.start_imap` / `stop_imap` run it together with Dovecot.
"""

import os
import subprocess
import sys
from pathlib import Path

from localprovider.instance import REPO_DIR, Instance, LocalProviderError
from localprovider.processes import imap_greets, log_tail, pid_alive, port_accepts, read_pid, terminate, wait_until


def _pid_file(instance: Instance) -> Path:
    return instance.dir / "imap-front.pid"


def _pid(instance: Instance) -> int | None:
    pid = read_pid(_pid_file(instance))
    return pid if pid is not None and pid_alive(pid) else None


def is_running(instance: Instance) -> bool:
    """The front runs and greets, which it does only while Dovecot behind it answers."""
    return _pid(instance) is not None and imap_greets(instance.imap_host, instance.imap_port)


def start(instance: Instance) -> None:
    """Starts the front unless it already runs; returns once it relays Dovecot's greeting.

    Raises LocalProviderError with the end of its log when it does not come up (and leaves nothing running).
    """
    if is_running(instance):
        return
    stop(instance)  # a front whose Dovecot was down, or a stale pid file
    if port_accepts(instance.imap_host, instance.imap_port):
        raise LocalProviderError(
            f"{instance.imap_host}:{instance.imap_port} is taken by something else than this instance ({instance.dir})"
        )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(REPO_DIR), os.environ.get("PYTHONPATH")) if p)}
    with open(instance.imap_front_log, "ab") as log:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module, no shell
            [sys.executable, "-m", "localprovider.imap_front", "--instance-dir", str(instance.dir)]
            + ["--listen", f"{instance.imap_host}:{instance.imap_port}"]
            + ["--upstream", f"{instance.imap_host}:{instance.dovecot_port}"]
            + ["--oauth-server", instance.base_url],
            env=env,
            cwd=REPO_DIR,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # outlives the CLI that started it, and its Ctrl-C
        )
    _pid_file(instance).write_text(f"{process.pid}\n")

    def greets() -> bool:
        return imap_greets(instance.imap_host, instance.imap_port)

    wait_until(lambda: process.poll() is not None or greets(), timeout=10)  # a front that cannot listen exits
    if process.poll() is not None or not greets():
        stop(instance)
        raise LocalProviderError(f"the IMAP front did not come up:\n{log_tail(instance.imap_front_log)}")


def stop(instance: Instance) -> None:
    """Stops the front (open connections are closed); no-op when it does not run."""
    pid = _pid(instance)
    if pid is not None:
        terminate(pid)
    _pid_file(instance).unlink(missing_ok=True)
