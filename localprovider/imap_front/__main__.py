"""python -m localprovider.imap_front --instance-dir DIR --listen HOST:PORT --upstream HOST:PORT [--oauth-server URL]

Runs the IMAP front of one instance until SIGTERM; logs one line per refused or forced login to stderr
(`control` sends it to <instance dir>/imap-front.log).
"""

import argparse
import asyncio
import functools
import logging
import signal
import sys
from pathlib import Path

from localprovider import organisation, personas
from localprovider.imap_front.delegation import Delegation, introspecting
from localprovider.imap_front.server import ImapFront
from localprovider.instance import (
    IMAP_MASTER_SECRET_FILE,
    INTROSPECTION_CLIENT_ID,
    INTROSPECTION_SECRET_FILE,
    instance_secret,
)

logger = logging.getLogger("localprovider.imap_front")


def _address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise argparse.ArgumentTypeError(f"not HOST:PORT: {text!r}")
    return host, int(port)


async def _serve(front: ImapFront, listen: tuple[str, int]) -> None:
    server = await front.start(*listen)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    logger.info("IMAP front on %s:%d before %s:%d", *listen, *(front.upstream or ("memory", 0)))
    await stop.wait()
    await front.close(server)
    logger.info("IMAP front stopped")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m localprovider.imap_front", description=__doc__)
    parser.add_argument("--instance-dir", type=Path, required=True, help="where the mailboxes' persona state lives")
    parser.add_argument("--listen", type=_address, required=True, metavar="HOST:PORT")
    parser.add_argument("--upstream", type=_address, required=True, metavar="HOST:PORT", help="Dovecot")
    parser.add_argument(
        "--oauth-server", metavar="URL", help="the instance's OAuth server: shared mailboxes open for their delegates"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    delegation = None
    if args.oauth_server:
        # The secrets stay in the instance's 0600 files, never in argv.
        secret = instance_secret(args.instance_dir / INTROSPECTION_SECRET_FILE)
        owner = introspecting(f"{args.oauth_server.rstrip('/')}/o/introspect/", INTROSPECTION_CLIENT_ID, secret)
        delegation = Delegation(
            owner,
            instance_secret(args.instance_dir / IMAP_MASTER_SECRET_FILE),
            app_access=functools.partial(organisation.app_may_open, args.instance_dir),
        )
    front = ImapFront(
        upstream=args.upstream,
        state_for=functools.partial(personas.read_state, args.instance_dir),
        delegation=delegation,
    )
    try:
        asyncio.run(_serve(front, args.listen))
    except OSError as e:
        logger.error("IMAP front cannot listen on %s:%d: %s", *args.listen, e)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
