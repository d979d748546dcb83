"""Where an instance lives: a directory and two loopback ports. Plain data, no Django."""

import hashlib
import os
import secrets
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parent.parent
DEFAULT_DIR = REPO_DIR / ".testbed" / "dev"
DEFAULT_HTTP_PORT = 8765
DEFAULT_IMAP_PORT = 14143
DOVECOT_PORT_OFFSET = 1000  # Dovecot listens behind the IMAP front, this far above the IMAP port
MAIN_CLIENT_ID = "channels-app"
DEFAULT_CLIENT_SECRET = "local-dev-secret"  # a dev/test default, like Django's dev SECRET_KEY
INTROSPECTION_CLIENT_ID = "dovecot-introspection"
# Unix socket paths hold at most 107 bytes (sun_path, unix(7)), and Dovecot puts ~30 more under its base_dir:
# its sockets live in a short directory of their own here, whatever the instance's path.
RUNTIME_ROOT = Path("/tmp")  # noqa: S108 - short on purpose; dovecot.py makes the directory as only its own
ADMIN_SECRET_FILE = "admin-secret"  # in the instance dir; see control_endpoint.py
# Dovecot's master user the IMAP front logs in as to open a shared mailbox for its delegate (dovecot.conf).
IMAP_MASTER_USER = "imap-front"
IMAP_MASTER_SEPARATOR = "*"
INTROSPECTION_SECRET_FILE = "introspection-secret"
IMAP_MASTER_SECRET_FILE = "imap-master-secret"


def instance_secret(path: Path, make: Callable[[], str] = lambda: secrets.token_urlsafe(32)) -> str:
    """A secret made once and kept 0600 at `path`, so none lives in the source or in argv.

    Whoever comes first makes it: written aside and linked into place, so a process reading it at the
    same moment never sees a half-written file, and two makers agree on the first one's.
    """
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, aside = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # 0600
        try:
            with os.fdopen(fd, "w") as f:
                f.write(make())
            os.link(aside, path)
        except FileExistsError:
            pass
        finally:
            os.unlink(aside)
    return path.read_text().strip()


class LocalProviderError(RuntimeError):
    """The local provider could not do what was asked (a port is taken, a process died...)."""


class LocalProviderUnavailable(LocalProviderError):
    """This machine cannot run the local provider at all (no Dovecot and no way to install it, not root).

    Tests skip on this one (unless CI=true); everything else is a real failure.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Instance:
    """One provider: HTTP (OAuth server) and IMAP ports on 127.0.0.1 plus a directory with all state.

    Clients use `imap_port`, where the IMAP front listens; Dovecot itself listens on `dovecot_port`
    (0 at construction means imap_port + 1000). Several instances can run at once (the demo on the
    defaults, the tests on other ports).
    """

    dir: Path
    http_port: int = DEFAULT_HTTP_PORT
    imap_port: int = DEFAULT_IMAP_PORT
    host: str = "127.0.0.1"
    client_id: str = MAIN_CLIENT_ID
    client_secret: str = DEFAULT_CLIENT_SECRET
    dovecot_port: int = 0

    def __post_init__(self) -> None:
        if not self.dovecot_port:
            object.__setattr__(self, "dovecot_port", self.imap_port + DOVECOT_PORT_OFFSET)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.http_port}"

    @property
    def imap_host(self) -> str:
        return self.host

    @property
    def authorize_url(self) -> str:
        return f"{self.base_url}/o/authorize/"

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/o/token/"

    @property
    def userinfo_url(self) -> str:
        return f"{self.base_url}/userinfo"

    @property
    def dovecot_dir(self) -> Path:
        """Everything Dovecot (running as nobody) reads or writes; the rest of `dir` stays root's."""
        return self.dir / "dovecot"

    @property
    def runtime_dir(self) -> Path:
        """Holds Dovecot's base_dir (its unix sockets and master.pid): /tmp/localprovider-<hash of dir>, short
        wherever `dir` is, one per instance directory."""
        digest = hashlib.sha256(str(self.dir.resolve()).encode()).hexdigest()[:12]
        return RUNTIME_ROOT / f"localprovider-{digest}"

    @property
    def http_log(self) -> Path:
        return self.dir / "http.log"

    @property
    def dovecot_log(self) -> Path:
        return self.dovecot_dir / "log" / "dovecot.log"

    @property
    def imap_front_log(self) -> Path:
        return self.dir / "imap-front.log"

    def introspection_secret(self) -> str:
        """Dovecot's client secret at the OAuth server: random per instance, kept in a 0600 file."""
        return instance_secret(self.dir / INTROSPECTION_SECRET_FILE)

    def imap_master_secret(self) -> str:
        """The IMAP front's password as Dovecot's master user (opening shared mailboxes for delegates)."""
        return instance_secret(self.dir / IMAP_MASTER_SECRET_FILE)

    def admin_secret(self) -> str:
        """What `localprovider.control` shows the server's admin endpoint: random per instance, 0600."""
        return instance_secret(self.dir / ADMIN_SECRET_FILE)

    def environ(self) -> dict[str, str]:
        """The environment the provider's own processes read their instance from (see settings.py)."""
        return {
            "LOCAL_PROVIDER_DIR": str(self.dir),
            "LOCAL_PROVIDER_HTTP_PORT": str(self.http_port),
            "LOCAL_PROVIDER_IMAP_PORT": str(self.imap_port),
            "LOCAL_PROVIDER_DOVECOT_PORT": str(self.dovecot_port),
        }


def instance_from_env(environ: Mapping[str, str] | None = None) -> Instance:
    """The instance named by LOCAL_PROVIDER_* variables, with the dev defaults for what is unset."""
    env = os.environ if environ is None else environ
    return Instance(
        dir=Path(env.get("LOCAL_PROVIDER_DIR") or DEFAULT_DIR).resolve(),
        http_port=int(env.get("LOCAL_PROVIDER_HTTP_PORT") or DEFAULT_HTTP_PORT),
        imap_port=int(env.get("LOCAL_PROVIDER_IMAP_PORT") or DEFAULT_IMAP_PORT),
        client_secret=env.get("LOCAL_PROVIDER_CLIENT_SECRET") or DEFAULT_CLIENT_SECRET,
        dovecot_port=int(env.get("LOCAL_PROVIDER_DOVECOT_PORT") or 0),
    )
