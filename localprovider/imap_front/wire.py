"""Reading IMAP off an asyncio stream: whole client commands and whole server responses, literals included.

Only what the front needs to find where a command or a response ends and who is logging in; everything
else passes through as bytes. RFC 3501 (literals), RFC 7888 (LITERAL+), RFC 4959 (SASL-IR).
"""

import asyncio
import base64
import binascii
import re
from dataclasses import dataclass
from functools import cached_property

# A line limit well above what a SEARCH of a large mailbox answers in one line.
STREAM_LIMIT = 1 << 24
MAX_LITERAL = 1 << 26
_CLIENT_LITERAL = re.compile(rb"\{(\d+)(\+?)\}\r?\n\Z")
_SERVER_LITERAL = re.compile(rb"\{(\d+)\}\r?\n\Z")
_TAGGED = re.compile(rb"(?P<tag>[^ +*][^ ]*) (?P<status>[A-Za-z]+)")


class ConnectionClosed(ConnectionError):
    """The other side closed the connection (or sent something unusable)."""


@dataclass(frozen=True)
class Command:
    """One client command: its lines (`texts`) and the literals between them, as the client sent them."""

    texts: tuple[bytes, ...]
    literals: tuple[bytes, ...] = ()

    @property
    def wire(self) -> bytes:
        """The command to send on, every literal non-synchronizing (the server must announce LITERAL+)."""
        out = bytearray()
        for text, literal in zip(self.texts, self.literals, strict=False):
            out += text + b"{%d+}\r\n" % len(literal) + literal
        return bytes(out + self.texts[-1] + b"\r\n")

    @cached_property
    def tokens(self) -> list[bytes]:
        """Atoms, unquoted strings and literals; parentheses are tokens of their own."""
        out: list[bytes] = []
        for index, text in enumerate(self.texts):
            out += _split(text)
            if index < len(self.literals):
                out.append(self.literals[index])
        return out

    @property
    def tag(self) -> bytes:
        tokens = self.tokens
        return tokens[0] if tokens else b"*"

    @property
    def name(self) -> str:
        """The command name, upper case; `UID FETCH` and the like keep both words."""
        words = [token.decode("ascii", "replace").upper() for token in self.tokens[1:3]]
        if words and words[0] == "UID" and len(words) == 2:
            return " ".join(words)
        return words[0] if words else ""

    @property
    def arguments(self) -> list[bytes]:
        return self.tokens[1 + len(self.name.split()) :]


def _split(text: bytes) -> list[bytes]:
    tokens: list[bytes] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i : i + 1]
        if char == b" ":
            i += 1
        elif char in (b"(", b")"):
            tokens.append(char)
            i += 1
        elif char == b'"':
            value = bytearray()
            i += 1
            while i < n and text[i : i + 1] != b'"':
                if text[i : i + 1] == b"\\":
                    i += 1
                value += text[i : i + 1]
                i += 1
            tokens.append(bytes(value))
            i += 1
        else:
            start, depth = i, 0
            while i < n:
                char = text[i : i + 1]
                if depth == 0 and char in (b" ", b"(", b")"):
                    break
                depth += {b"[": 1, b"]": -1}.get(char, 0)
                i += 1
            tokens.append(text[start:i])
    return tokens


async def read_command(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> Command | None:
    """The client's next whole command, or None when it closed the connection.

    A synchronizing literal `{n}` gets the server's `+ OK` here, as a server would send it.
    """
    texts: list[bytes] = []
    literals: list[bytes] = []
    while True:
        line = await reader.readline()
        if not line.endswith(b"\n"):
            return None
        literal = _CLIENT_LITERAL.search(line)
        if literal is None:
            texts.append(line.rstrip(b"\r\n"))
            return Command(tuple(texts), tuple(literals))
        size = int(literal[1])
        if size > MAX_LITERAL:
            raise ConnectionClosed(f"a literal of {size} bytes")
        texts.append(line[: literal.start()])
        if not literal[2]:
            writer.write(b"+ OK\r\n")
            await writer.drain()
        literals.append(await reader.readexactly(size))


async def read_line(reader: asyncio.StreamReader) -> bytes:
    """A client's answer to a continuation (one line, no literals), without its line end."""
    line = await reader.readline()
    if not line.endswith(b"\n"):
        raise ConnectionClosed("the client closed the connection")
    return line.rstrip(b"\r\n")


async def read_response(reader: asyncio.StreamReader) -> bytes:
    """The server's next whole response line with its literals (a FETCH of a message body is one)."""
    chunks: list[bytes] = []
    while True:
        line = await reader.readline()
        if not line.endswith(b"\n"):
            raise ConnectionClosed("the server closed the connection")
        chunks.append(line)
        literal = _SERVER_LITERAL.search(line)
        if literal is None:
            return b"".join(chunks)
        chunks.append(await reader.readexactly(int(literal[1])))


def tagged_status(response: bytes, tag: bytes) -> str | None:
    """`OK`, `NO` or `BAD` when `response` is the tagged completion of the command tagged `tag`."""
    match = _TAGGED.match(response)
    if match is None or match["tag"] != tag:
        return None
    return match["status"].decode("ascii").upper()


def is_continuation(response: bytes) -> bool:
    return response.startswith(b"+")


@dataclass(frozen=True)
class SaslCredentials:
    user: str
    secret: str


def decode_sasl(mechanism: str, response: bytes) -> SaslCredentials | None:
    """Who logs in with a SASL initial response (base64; `=` is empty), or None if it does not parse."""
    try:
        data = b"" if response == b"=" else base64.b64decode(response, validate=True)
        text = data.decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    if mechanism == "PLAIN":
        parts = text.split("\0")
        if len(parts) != 3:
            return None
        return SaslCredentials(user=parts[1] or parts[0], secret=parts[2])
    if mechanism in ("XOAUTH2", "OAUTHBEARER"):
        # XOAUTH2: user=U^Aauth=Bearer T^A^A; OAUTHBEARER (RFC 7628): n,a=U,^Aauth=Bearer T^A^A
        header, _, rest = text.partition("\x01") if mechanism == "OAUTHBEARER" else ("", "", text)
        fields = dict(field.partition("=")[::2] for field in rest.split("\x01") if field)
        user = fields.get("user", "")
        if mechanism == "OAUTHBEARER":
            authzid = next((part[2:] for part in header.split(",") if part.startswith("a=")), "")
            user = authzid.replace("=2C", ",").replace("=3D", "=")
        scheme, _, token = fields.get("auth", "").partition(" ")
        if not user or scheme.lower() != "bearer":
            return None
        return SaslCredentials(user=user, secret=token)
    return None
