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
_SPACE = re.compile(rb"\s+")


def digest_identity(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def gmail_identity(msgid: int) -> str:
    return f"gm:{msgid}"


# A pathological header block is read this far at most.
HEADER_READ_LIMIT = 262144


def header_block(raw: bytes) -> bytes:
    """The header block of a message, up to the first empty line in any line-ending convention
    (messages come with CRLF, LF or CR alone), HEADER_READ_LIMIT bytes at most."""
    end = raw.find(b"\r\n\r\n", 0, HEADER_READ_LIMIT)
    if end >= 0 and raw.find(b"\n\n", 0, end) < 0 and raw.find(b"\r\r", 0, end) < 0:
        return raw[:end]  # the usual case, and the fast one
    text = raw[:HEADER_READ_LIMIT].replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    end = text.find(b"\n\n")
    return text[:end] if end >= 0 else text


# A key field and its value with any folded continuation lines; ^ is a line start after \n (CR-only
# blocks come here with their endings made LF by header_block).
_FIELD = re.compile(
    rb"^(message-id|date|from|subject)[ \t]*:([^\r\n]*(?:(?:\r\n|\r|\n)[ \t][^\r\n]*)*)", re.IGNORECASE | re.MULTILINE
)


def key_fields(header: bytes) -> dict[bytes, bytes]:
    """The first value of each key field, unfolded and with runs of white space made one space."""
    found: dict[bytes, bytes] = {}
    for match in _FIELD.finditer(header):
        name = match.group(1).lower()
        if name not in found:
            found[name] = _SPACE.sub(b" ", match.group(2)).strip()
            if len(found) == len(KEY_FIELDS):
                break
    return found


def _key(fields: dict[bytes, bytes]) -> str:
    joined = b"\x00".join(fields.get(name, b"") for name in KEY_FIELDS)
    return hashlib.sha256(joined).hexdigest()[:32]


def header_key(header: bytes) -> str:
    """The digest of the key fields of a header block (or of the fields the server returned)."""
    return _key(key_fields(header))


def message_header_key(raw: bytes, crlf_fields: dict[bytes, list[bytes]] | None) -> str:
    """header_key(header_block(raw)), from the fields the header parse already read where it read the
    same block line by line (parsing.ParsedHeaders.crlf_fields): the same first values, unfolded,
    which changes no run of white space into anything but one space."""
    if crlf_fields is None:
        return header_key(header_block(raw))
    return _key({name: _SPACE.sub(b" ", crlf_fields[name][0]).strip() for name in KEY_FIELDS if name in crlf_fields})
