"""Test mail: realistic messages, delivered straight into a Dovecot Maildir (thousands per second)."""

import itertools
import os
import quopri
import socket
import time
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from email.header import Header
from email.utils import format_datetime, formataddr, make_msgid, parseaddr
from pathlib import Path

from localprovider import dovecot
from localprovider.instance import Instance

_FILLER = (
    "Hello,\n\nThanks for getting in touch. This is a generated message of the local mail provider, "
    "written to look like ordinary support mail: a greeting, a few paragraphs and a signature, so that "
    "parsing, storage and search in the app see realistic sizes and line lengths.\n\n"
)
_counter = itertools.count()


def make_message(
    sender: str = "customer@example.test",
    recipient: str = "support@acme.test",
    subject: str | None = None,
    body: str | None = None,
    date: datetime | None = None,
    message_id: str | None = None,
    size: int = 3000,
) -> bytes:
    """An RFC 5322 text/plain message (CRLF line ends) of about `size` bytes unless `body` is given.

    Built by hand rather than with EmailMessage, which takes ~2 ms a message: seeding thousands matters.
    """
    n = next(_counter)
    subject = subject if subject is not None else f"Question about order #{10000 + n}"
    headers = [
        ("From", _address(sender)),
        ("To", _address(recipient)),
        ("Subject", Header(subject, "utf-8" if not subject.isascii() else "us-ascii").encode()),
        ("Date", format_datetime(date or datetime.now(UTC))),
        ("Message-ID", message_id or make_msgid(idstring=f"lp{n}", domain=sender.rsplit("@", 1)[-1].strip("<> "))),
        ("MIME-Version", "1.0"),
    ]
    head = "".join(f"{name}: {value}\n" for name, value in headers)
    if body is None:
        room = max(size - len(head) - 150, 0)
        body = (_FILLER * (room // len(_FILLER) + 1))[:room] + "\n\nBest regards,\nA customer\n"
    lines = body.replace("\r\n", "\n").split("\n")
    if all(len(line.encode()) <= 998 for line in lines):
        encoding, text = "8bit", "\r\n".join(lines)
    else:  # RFC 5322 caps lines at 998 octets
        encoding, text = "quoted-printable", quopri.encodestring(body.encode()).decode("ascii")
    head += f'Content-Type: text/plain; charset="utf-8"\nContent-Transfer-Encoding: {encoding}\n'
    return (head.replace("\n", "\r\n") + "\r\n" + text.replace("\r\n", "\n").replace("\n", "\r\n")).encode()


def _address(value: str) -> str:
    """Encodes a non-ASCII display name ("Zoë <zoe@x.test>") as RFC 2047 would have it."""
    return formataddr(parseaddr(value), charset="utf-8")


def mailbox_dir(instance: Instance, email: str) -> Path:
    """INBOX of `email`, as dovecot.conf's mail_location names it (full address, %u)."""
    return instance.dovecot_dir / "mail" / email / "Maildir"


def folder_dir(instance: Instance, email: str, folder: str = "INBOX") -> Path:
    """A folder's Maildir++ directory: INBOX is the Maildir itself, "A/B" is ".A.B" inside it."""
    base = mailbox_dir(instance, email)
    if folder.upper() == "INBOX":
        return base
    if "." in folder or folder.startswith("/"):
        raise ValueError(f"not a folder name Local mail can store: {folder!r}")
    return base / f".{folder.replace('/', '.')}"


def ensure_folder(instance: Instance, email: str, folder: str = "INBOX") -> Path:
    """Creates the folder's directories (owned by Dovecot's user) if they are missing."""
    uid, gid = dovecot._ids()
    home = mailbox_dir(instance, email).parent
    path = folder_dir(instance, email, folder)
    for d in (home, mailbox_dir(instance, email), path, path / "tmp", path / "new", path / "cur"):
        if not d.exists():
            d.mkdir(mode=0o700)
            os.chown(d, uid, gid)
    if folder.upper() != "INBOX" and not (path / "maildirfolder").exists():
        (path / "maildirfolder").touch()
        os.chown(path / "maildirfolder", uid, gid)
    return path


def deliver(
    instance: Instance, email: str, messages: Iterable[bytes], folder: str = "INBOX", arrived: datetime | None = None
) -> int:
    """Writes messages into a folder's new/ the Maildir way (tmp/ then rename), owned by Dovecot's user.

    Dovecot picks them up at the next SELECT/NOOP; this is ~10x faster than IMAP APPEND. A maildir
    message's arrival time (IMAP's INTERNALDATE) is its file's modification time: `arrived` sets it.
    """
    uid, gid = dovecot._ids()
    path = ensure_folder(instance, email, folder)
    host = socket.gethostname().replace("/", "_").replace(":", "_")
    prefix = f"{int(time.time())}.M{uuid.uuid4().hex[:12]}P{os.getpid()}"
    count = 0
    for count, data in enumerate(messages, start=1):
        # Dovecot gives new files their UIDs in the order of their names (maildir-uidlist.c sorts them), so the
        # delivery count is zero-padded: "Q10" before "Q2" listed a batch of ten or more out of order.
        name = f"{prefix}Q{count:06d}.{host},S={len(data)}"
        tmp = path / "tmp" / name
        with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as f:
            f.write(data)
            os.fchown(f.fileno(), uid, gid)
        if arrived is not None:
            os.utime(tmp, (arrived.timestamp(), arrived.timestamp()))
        os.rename(tmp, path / "new" / name)
    return count


def move(instance: Instance, email: str, source: str, dest: str, *, matching: bytes | None = None) -> int:
    """Moves messages between folders as a mail client's MOVE does: same bytes, a new UID in `dest`.

    `matching`: only messages whose bytes contain it; None moves all. Returns how many moved."""
    src = folder_dir(instance, email, source)
    target = ensure_folder(instance, email, dest)
    moved = 0
    for sub in ("cur", "new"):
        for path in sorted((src / sub).glob("*")) if (src / sub).exists() else []:
            if matching is not None and matching not in path.read_bytes():
                continue
            # Maildir flags follow the ":2," in a cur/ name; a moved message arrives as new.
            os.rename(path, target / "new" / path.name.split(":2,")[0])
            moved += 1
    return moved


def forget_uids(instance: Instance, email: str, folder: str = "INBOX") -> None:
    """Makes Dovecot renumber a Maildir: a fresh UID list with a higher UIDVALIDITY and no UIDs.

    Dovecot picks a new UIDVALIDITY from the clock, which may repeat within a
    second, so the new list names one explicitly (old + 1); every message file
    then gets a new UID at the next SELECT.
    """
    path = folder_dir(instance, email, folder)
    uidlist = path / "dovecot-uidlist"
    old = int(uidlist.read_text().split()[1][1:]) if uidlist.exists() else 0
    for pattern in ("dovecot.index*", "dovecot-uidvalidity*"):
        for index in path.glob(pattern):
            index.unlink()
    uidlist.write_text(f"3 V{old + 1} N1\n")
    os.chown(uidlist, *dovecot._ids())
