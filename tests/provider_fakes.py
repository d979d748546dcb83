"""Small in-process fakes that replay a provider's recorded answers over real sockets on loopback.

`FakeTokenEndpoint` answers POSTs with whatever entry a test sets (status, headers, body), serves a
JWKS for ID tokens signed by `sign_id_token`, and records what was posted. No root, no Dovecot.
"""

import functools
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest
from jwcrypto import jwk, jwt


@dataclass
class FakeTokenEndpoint:
    base_url: str
    key: jwk.JWK
    answer: dict[str, Any] = field(default_factory=dict)
    posts: list[dict[str, list[str]]] = field(default_factory=list)
    # What the Gmail API paths (/gmail/...) answer, GET or POST; the token endpoint keeps `answer`.
    api_answer: dict[str, Any] = field(default_factory=dict)
    # What Graph's paths (/graph/...) answer, one entry per request in turn; and what each request carried:
    # (method, path, Authorization header).
    graph_answers: list[dict[str, Any]] = field(default_factory=list)
    graph_requests: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def graph_url(self) -> str:
        return f"{self.base_url}/graph/v1.0"

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/token"

    @property
    def revoke_url(self) -> str:
        return f"{self.base_url}/revoke"

    @property
    def jwks_url(self) -> str:
        return f"{self.base_url}/jwks"

    def sign_id_token(self, **claims: Any) -> str:
        now = int(time.time())
        token = jwt.JWT(
            header=json.dumps({"alg": "RS256", "kid": self.key["kid"]}),
            claims=json.dumps({"iat": now, "exp": now + 3600, **claims}),
        )
        token.make_signed_token(self.key)
        return token.serialize()


def _handler(fake: FakeTokenEndpoint) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _send(self, status: int, headers: dict[str, str], body: Any) -> None:
            data = json.dumps(body).encode() if isinstance(body, dict) else str(body).encode()
            self.send_response(status)
            for name, value in {"Content-Type": "application/json", **headers}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _api(self) -> bool:
            if not self.path.startswith("/gmail/"):
                return False
            answer = fake.api_answer
            self._send(answer.get("status", 200), answer.get("headers", {}), answer.get("body", {}))
            return True

        def _graph(self) -> bool:
            if not self.path.startswith("/graph/"):
                return False
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            fake.graph_requests.append((self.command, self.path, self.headers.get("Authorization", "")))
            answer = fake.graph_answers.pop(0)
            self._send(answer["status"], answer.get("headers", {}), answer.get("body", {}))
            return True

        def do_PATCH(self) -> None:
            self._graph()

        def do_GET(self) -> None:
            if self._api():
                return
            public = json.loads(fake.key.export_public())
            self._send(200, {}, {"keys": [public]})

        def do_POST(self) -> None:
            if self._graph():
                return
            length = int(self.headers.get("Content-Length", "0"))
            form = parse_qs(self.rfile.read(length).decode())
            fake.posts.append({"path": [self.path], **form})
            if self._api():
                return
            if self.path.startswith("/revoke"):
                self._send(200, {}, {})
                return
            answer = fake.answer
            self._send(answer.get("status", 200), answer.get("headers", {}), answer.get("body", {}))

    return Handler


@functools.cache
def _signing_key() -> jwk.JWK:
    # Generating an RSA key takes a good part of a second: one for the whole run.
    return jwk.JWK.generate(kty="RSA", size=2048, kid="test-key")


@contextmanager
def fake_token_endpoint() -> Iterator[FakeTokenEndpoint]:
    key = _signing_key()
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    fake = FakeTokenEndpoint(base_url=f"http://127.0.0.1:{server.server_address[1]}", key=key)
    server.RequestHandlerClass = _handler(fake)
    # A short poll interval: shutdown() waits for the loop to look, once per test.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def fake(settings: Any) -> Iterator[FakeTokenEndpoint]:
    """Gmail's and Microsoft's modules pointed at one in-process fake token endpoint and its signing keys."""
    with fake_token_endpoint() as endpoint:
        providers = dict(settings.MAIL_PROVIDERS)
        for kind in ("gmail", "microsoft"):
            providers[kind] = {
                **providers[kind],
                "CLIENT_ID": "test-client",
                "CLIENT_SECRET": "test-secret",
                "AUTHORIZE_URL": f"{endpoint.base_url}/authorize",
                "TOKEN_URL": endpoint.token_url,
                "REVOKE_URL": endpoint.revoke_url if kind == "gmail" else "",
                "JWKS_URL": endpoint.jwks_url,
                "ISSUER": "https://issuer.test" if kind == "gmail" else "https://issuer.test/{tenantid}/v2.0",
            }
        providers["microsoft"]["GRAPH_URL"] = endpoint.graph_url
        settings.MAIL_PROVIDERS = providers
        yield endpoint


@dataclass
class MemoryImap:
    """The IMAP front serving its in-memory mailbox on a port the IMAP policy allows; `logins` holds each
    (user, password) it was sent."""

    port: int
    logins: list[tuple[str, str]] = field(default_factory=list)
    refuse: bool = False

    def serve(self, channel: Any, password: str = "secret") -> Any:
        """`channel` as a password IMAP channel of this server, signing in with `password`."""
        from channels_app.providers import Credentials
        from channels_app.services.credentials import channel_store_credentials

        channel.provider, channel.imap_host, channel.imap_port = "imap", "127.0.0.1", self.port
        channel.imap_security, channel.imap_username = "none", channel.address
        channel.save()
        channel_store_credentials(channel=channel, credentials=Credentials(password=password))
        return channel


@pytest.fixture
def memory_imap(settings: Any) -> Iterator[MemoryImap]:
    from localprovider.imap_front import ImapFront
    from localprovider.personas import MailboxState

    server = MemoryImap(port=0)

    def refuses(user: str, secret: str) -> bool:
        server.logins.append((user, secret))
        return server.refuse

    front = ImapFront(upstream=None, state_for=lambda _address: MailboxState(persona="plain"), refuses=refuses)
    with front.running() as port:
        server.port = port
        settings.IMAP_ALLOWED_PORTS = [*settings.IMAP_ALLOWED_PORTS, port]
        yield server
