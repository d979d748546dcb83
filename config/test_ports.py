"""The ports and folder of one test suite's own Local mail, chosen so that two suites run side by side.

A suite uses a block of ports: Local mail's HTTP port and the few after it (other instances the tests
start), its IMAP front's port and the few after it, Dovecot's ports 1000 above those, and the Pub/Sub
emulator's port. When the caller names LOCAL_PROVIDER_HTTP_PORT, that block is used as given. Otherwise
the first block whose lock no other suite holds and whose ports are free is taken, and kept for this
process's life by an exclusive `flock` on a file in `.testbed/`: two suites started at the same moment
cannot both take the same block (a check of free ports alone would let them), and a suite that dies
releases its block with its process. Child processes (Local mail, workers) inherit the chosen values
through the environment, so they never choose again.
"""

import fcntl
import os
import socket
from pathlib import Path
from typing import IO

HTTP_BASE = 8766
IMAP_BASE = 14144
PUBSUB_BASE = 8685
STEP = 10  # a block's width: the tests start instances at offsets up to +5 from each base
BLOCKS = 20
DOVECOT_OFFSET = 1000  # localprovider.instance.DOVECOT_PORT_OFFSET, which this module must not import

_held: IO[str] | None = None  # the lock of the block this process took, open until the process ends


def _free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _ports(http: int, imap: int) -> list[int]:
    return [*range(http, http + 6), *range(imap, imap + 6), *range(imap + DOVECOT_OFFSET, imap + DOVECOT_OFFSET + 6)]


def _use(
    env: dict[str, str] | os._Environ[str], testbed: Path, block: int, http: int, imap: int, *, own_folder: bool
) -> dict[str, str]:
    """Set the block's values in `env` (a folder or emulator port the caller named is kept) and return them."""
    chosen = {
        "LOCAL_PROVIDER_HTTP_PORT": str(http),
        "LOCAL_PROVIDER_IMAP_PORT": str(imap),
        "LOCAL_PROVIDER_DIR": env.get("LOCAL_PROVIDER_DIR")
        or str(testbed / (f"test-{http}" if own_folder else "test")),
        "PUBSUB_EMULATOR_PORT": env.get("PUBSUB_EMULATOR_PORT") or str(PUBSUB_BASE + block * STEP),
    }
    env.update(chosen)
    return chosen


def claim(testbed: Path, env: dict[str, str] | os._Environ[str] = os.environ) -> dict[str, str]:
    """The suite's settings (LOCAL_PROVIDER_DIR, _HTTP_PORT, _IMAP_PORT, PUBSUB_EMULATOR_PORT): set in `env`
    where the caller did not choose them, and returned. Raises RuntimeError when every block is taken."""
    global _held
    if env.get("LOCAL_PROVIDER_HTTP_PORT"):
        http = int(env["LOCAL_PROVIDER_HTTP_PORT"])
        block = max(0, (http - HTTP_BASE) // STEP)
        imap = int(env.get("LOCAL_PROVIDER_IMAP_PORT") or IMAP_BASE + block * STEP)
        return _use(env, testbed, block, http, imap, own_folder=False)
    testbed.mkdir(parents=True, exist_ok=True)
    for block in range(BLOCKS):
        http, imap = HTTP_BASE + block * STEP, IMAP_BASE + block * STEP
        lock = open(testbed / f"suite-{http}.lock", "w")  # noqa: SIM115 (held open on purpose: _held)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            lock.close()
            continue
        if not all(_free(port) for port in _ports(http, imap)):
            lock.close()
            continue
        _held = lock
        # The first block keeps the folder it always had; the others get their own.
        return _use(env, testbed, block, http, imap, own_folder=block > 0)
    raise RuntimeError(
        f"Every one of {BLOCKS} test port blocks from {HTTP_BASE} is taken: set LOCAL_PROVIDER_HTTP_PORT and "
        "LOCAL_PROVIDER_IMAP_PORT to free ports."
    )
