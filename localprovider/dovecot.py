"""The IMAP side: an unprivileged Dovecot instance (master running as nobody) per provider instance."""

import grp
import json
import os
import pwd
import shutil
import subprocess
from pathlib import Path
from string import Template
from urllib.parse import quote

from localprovider.instance import (
    IMAP_MASTER_USER,
    INTROSPECTION_CLIENT_ID,
    Instance,
    LocalProviderError,
    LocalProviderUnavailable,
)
from localprovider.processes import imap_greets, log_tail, pid_alive, read_pid, terminate, wait_until

DOVECOT = Path("/usr/sbin/dovecot")
RUN_AS_USER = "nobody"
RUN_AS_GROUP = "nogroup"
TEMPLATES = Path(__file__).resolve().parent


def install() -> None:
    """Installs dovecot-imapd with apt when missing; only root on a Debian-like system can."""
    if DOVECOT.exists():
        return
    if os.geteuid() != 0:
        raise LocalProviderUnavailable(f"{DOVECOT} is missing and only root can apt-get install dovecot-imapd")
    apt_get = shutil.which("apt-get")
    if apt_get is None:
        raise LocalProviderUnavailable(f"{DOVECOT} is missing and there is no apt-get to install dovecot-imapd")
    # A fresh machine has no package lists yet. Lock::Timeout: another apt-get may hold the lock.
    subprocess.run(  # noqa: S603 - fixed argv, no shell
        [apt_get, "update", "-qq", "-o", "DPkg::Lock::Timeout=600"], capture_output=True, check=False
    )
    result = subprocess.run(  # noqa: S603 - fixed argv, no shell
        [apt_get, "install", "-y", "-o", "DPkg::Lock::Timeout=600", "dovecot-imapd"],
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        capture_output=True,
        text=True,
    )
    if result.returncode != 0 or not DOVECOT.exists():
        raise LocalProviderUnavailable(f"apt-get install dovecot-imapd failed: {result.stderr.strip()[-500:]}")


def check_can_run() -> None:
    """Dovecot runs as nobody with files chowned to it: that needs root."""
    install()
    if os.geteuid() != 0:
        raise LocalProviderUnavailable("running Dovecot as an unprivileged instance needs root (to chown to nobody)")


def _ids() -> tuple[int, int]:
    return pwd.getpwnam(RUN_AS_USER).pw_uid, grp.getgrnam(RUN_AS_GROUP).gr_gid


def _owned_dir(path: Path, mode: int = 0o755) -> None:
    path.mkdir(parents=True, exist_ok=True, mode=mode)
    os.chown(path, *_ids())


def _write_owned(path: Path, text: str, mode: int) -> None:
    """Writes a file only Dovecot's user can read (it holds secrets or passwords)."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chown(tmp, *_ids())
    os.replace(tmp, path)  # atomic: a login never reads a half-written file


def _render(name: str, values: dict[str, str]) -> str:
    return Template((TEMPLATES / f"{name}.template").read_text()).substitute(values)


def _values(instance: Instance) -> dict[str, str]:
    d = instance.dovecot_dir
    return {
        "instance_name": f"localprovider-{instance.imap_port}",
        "dovecot_dir": str(d),
        "runtime_dir": str(instance.runtime_dir),
        "dovecot_port": str(instance.dovecot_port),
        "user": RUN_AS_USER,
        "group": RUN_AS_GROUP,
        "introspection_url": (
            f"http://{INTROSPECTION_CLIENT_ID}:{quote(instance.introspection_secret(), safe='')}"
            f"@{instance.host}:{instance.http_port}/o/introspect/"
        ),
    }


def _render_config(instance: Instance) -> str:
    return _render("dovecot.conf", _values(instance))


def write_config(instance: Instance) -> Path:
    """Renders dovecot.conf, its two passdb configs and the IMAP front's master user into the dovecot dir."""
    d = instance.dovecot_dir
    for sub in (d, d / "state", d / "log", d / "mail"):
        _owned_dir(sub)
    values = _values(instance)
    _write_owned(d / "dovecot.conf", _render("dovecot.conf", values), 0o644)
    _write_owned(d / "dovecot-oauth2.conf.ext", _render("dovecot-oauth2.conf.ext", values), 0o600)
    _write_owned(d / "dovecot-dict-auth.conf.ext", _render("dovecot-dict-auth.conf.ext", values), 0o644)
    _write_owned(d / "master-users", f"{IMAP_MASTER_USER}:{{PLAIN}}{instance.imap_master_secret()}\n", 0o600)
    return d / "dovecot.conf"


def _master_pid(instance: Instance) -> int | None:
    # dovecot/run was the base_dir before Instance.runtime_dir: a master started then is still ours to stop.
    for run_dir in (_base_dir(instance), instance.dovecot_dir / "run"):
        pid = read_pid(run_dir / "master.pid")
        if pid is not None and pid_alive(pid):
            return pid
    return None


def _base_dir(instance: Instance) -> Path:
    """Dovecot's base_dir, in the runtime directory: Dovecot makes it 0755 for its login processes, the
    runtime directory around it stays 0700 (every process of this Dovecot runs as its user)."""
    return instance.runtime_dir / "run"


def _fresh_runtime_dir(instance: Instance) -> None:
    """An empty runtime directory, 0700 and Dovecot's user's. A stale socket left there made the first login
    wait ~5 s. Under /tmp anyone may have made the name first: a link or a directory there is removed, and
    mkdir (without exist_ok) fails rather than use one made meanwhile."""
    runtime = instance.runtime_dir
    if runtime.is_symlink():
        runtime.unlink()
    shutil.rmtree(runtime, ignore_errors=True)
    runtime.mkdir(mode=0o700)
    os.chown(runtime, *_ids())
    _owned_dir(_base_dir(instance))


def is_running(instance: Instance) -> bool:
    return _master_pid(instance) is not None and imap_greets(instance.imap_host, instance.dovecot_port)


def start(instance: Instance) -> None:
    """Starts Dovecot for `instance` unless it already runs; returns once it greets on its port (behind the
    IMAP front, see imap_front.process)."""
    check_can_run()
    conf_path = instance.dovecot_dir / "dovecot.conf"
    before = conf_path.read_text() if conf_path.exists() else None
    if is_running(instance) and before == _render_config(instance):
        return
    stop(instance)  # a master that lost its port, a stale pid file, or one running an older config
    conf = write_config(instance)
    _fresh_runtime_dir(instance)
    setpriv = shutil.which("setpriv") or "/usr/bin/setpriv"
    command = [setpriv, f"--reuid={RUN_AS_USER}", f"--regid={RUN_AS_GROUP}", "--clear-groups"]
    # Not capture_output: the daemon keeps the inherited pipes open and run() would wait for it forever.
    start_log = instance.dir / "dovecot-start.log"
    with open(start_log, "wb") as out:
        result = subprocess.run(  # noqa: S603 - fixed argv, no shell
            [*command, str(DOVECOT), "-c", str(conf)], stdin=subprocess.DEVNULL, stdout=out, stderr=out
        )
    if result.returncode != 0:
        stop(instance)  # its runtime directory
        raise LocalProviderError(f"dovecot did not start: {log_tail(start_log)}\n{log_tail(instance.dovecot_log)}")
    if not wait_until(lambda: imap_greets(instance.imap_host, instance.dovecot_port), timeout=10):
        stop(instance)  # a master that runs but does not answer is still ours to end
        raise LocalProviderError(
            f"dovecot does not answer on {instance.imap_host}:{instance.dovecot_port} "
            f"(port taken?)\n{log_tail(instance.dovecot_log)}"
        )


def stop(instance: Instance) -> None:
    """Stops this instance's Dovecot master (and so all its processes) and removes its runtime directory;
    no-op when not running."""
    pid = _master_pid(instance)
    if pid is not None:
        terminate(pid, timeout=5)
    shutil.rmtree(instance.runtime_dir, ignore_errors=True)


def set_password(instance: Instance, email: str, password: str) -> None:
    """Writes `email`'s password file (see dovecot-dict-auth.conf.ext), so password IMAP logins work."""
    if "/" in email or email.startswith("."):
        raise ValueError(f"not a usable mailbox address: {email!r}")
    check_can_run()
    passdb = instance.dovecot_dir / "passdb"
    _owned_dir(passdb, mode=0o700)
    _write_owned(passdb / email, json.dumps({"password": password}), 0o600)
