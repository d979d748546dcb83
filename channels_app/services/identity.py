"""Which message a message is, so that each is stored once whatever the mailbox does to it.

A message keeps its bytes when it is moved between folders or when a restore renumbers a folder,
so its identity is the SHA-256 of its bytes, or Gmail's X-GM-MSGID where the server offers one
(one id per message across all its labels:
https://developers.google.com/workspace/gmail/imap/imap-extensions#access_to_the_gmail_unique_message_id_x-gm-msgid).

To recognise stored messages in a renumbered folder without downloading them again we compare
cheap facts first: the size and `header_key`, a digest of the first Message-ID, Date, From and
Subject fields (which two different messages sharing a Message-ID do not share).
"""

import hashlib
import re

# Asked for with BODY.PEEK[HEADER.FIELDS (...)]; the same fields are read out of stored messages.
KEY_FIELDS = (b"message-id", b"date", b"from", b"subject")
FACTS_ITEM = "BODY.PEEK[HEADER.FIELDS (MESSAGE-ID DATE FROM SUBJECT)]"
_LINE_BREAK = re.compile(rb"\r\n|\r|\n")
_SPACE = re.compile(rb"\s+")


def digest_identity(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def gmail_identity(msgid: int) -> str:
    return f"gm:{msgid}"


def header_block(raw: bytes) -> bytes:
    """The header block of a message, up to the first empty line, with its line endings made LF
    (messages come with CRLF, LF or CR alone). A pathological block is read to 256 KiB at most."""
    text = raw[:262144].replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    end = text.find(b"\n\n")
    return text[:end] if end >= 0 else text


def key_fields(header: bytes) -> dict[bytes, bytes]:
    """The first value of each key field, unfolded and with runs of white space made one space."""
    found: dict[bytes, bytes] = {}
    current: bytes | None = None
    for line in _LINE_BREAK.split(header):
        if line[:1] in (b" ", b"\t"):
            if current is not None:
                found[current] += b" " + line
            continue
        name, colon, value = line.partition(b":")
        key = name.strip().lower()
        current = key if colon and key in KEY_FIELDS and key not in found else None
        if current is not None:
            found[current] = value
    return {key: _SPACE.sub(b" ", value).strip() for key, value in found.items()}


def header_key(header: bytes) -> str:
    """The digest of the key fields of a header block (or of the fields the server returned)."""
    fields = key_fields(header)
    joined = b"\x00".join(fields.get(name, b"") for name in KEY_FIELDS)
    return hashlib.sha256(joined).hexdigest()[:32]
