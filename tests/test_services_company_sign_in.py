"""Company sign-in settings: the discovery check, the encrypted secret, turning on and off."""

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from channels_app.models import CompanySignIn
from channels_app.services.company_sign_in import (
    check_discovery,
    company_sign_in_save,
    company_sign_in_secret,
    company_sign_in_turn_off,
    company_sign_in_turn_on,
)
from tests.network_fakes import closed_port, listening, stall


@contextmanager
def discovery_server(status: int = 200, body: object = None, raw: bytes | None = None) -> Iterator[str]:
    """An HTTP server on loopback that answers every GET with `status` and `body` (as JSON; a function
    of the server's base URL, or by default a good document of that issuer) or `raw`; yields the base URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            answer = good(base) if body is None else body(base) if callable(body) else body
            payload = raw if raw is not None else json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield base
    finally:
        server.shutdown()
        server.server_close()


def good(issuer: str) -> dict[str, str]:
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/authorize",
        "token_endpoint": f"{issuer}/token",
        "jwks_uri": f"{issuer}/keys",
    }


def test_a_discovery_document_in_order_passes():
    with discovery_server() as issuer:
        assert check_discovery(issuer + "/").ok


def test_nothing_listening_is_a_sentence_not_an_exception():
    check = check_discovery(f"http://127.0.0.1:{closed_port()}")
    assert not check.ok and "Could not reach" in check.problem and "/.well-known/openid-configuration" in check.problem


def test_a_server_that_never_answers_is_given_up_after_the_timeout(settings):
    settings.OAUTH_HTTP_TIMEOUT_SECONDS = 1
    with listening(stall) as listener:
        check = check_discovery(f"http://127.0.0.1:{listener.port}")
    assert not check.ok and "did not answer within 1 seconds" in check.problem


@pytest.mark.parametrize(
    ("status", "raw", "body", "problem"),
    [
        (404, None, {}, "answered HTTP 404"),
        (200, b"<html>Welcome</html>", None, "did not answer with JSON"),
        (200, None, ["issuer"], "did not answer with a discovery document"),
        (200, None, {"issuer": "https://evil.example", "jwks_uri": "x"}, "names the issuer 'https://evil.example'"),
    ],
)
def test_answers_that_are_not_this_issuer_s_discovery_document_are_named(status, raw, body, problem):
    with discovery_server(status, body, raw) as issuer:
        check = check_discovery(issuer)
    assert not check.ok and problem in check.problem


def test_a_document_without_the_endpoints_sign_in_needs_names_them():
    with discovery_server(body=lambda base: {"issuer": base, "token_endpoint": f"{base}/token"}) as issuer:
        check = check_discovery(issuer)
    assert not check.ok and check.problem == "The discovery document has no authorization_endpoint, jwks_uri."


@pytest.mark.django_db
def test_the_client_secret_is_stored_encrypted_and_an_empty_one_keeps_it(tenancy):
    sign_in = company_sign_in_save(
        company=tenancy.company,
        issuer_url="https://acme.okta.com/",
        client_id="client-1",
        client_secret="very-secret-value",
        domains=["acme.test"],
    )
    stored = CompanySignIn.objects.get(pk=sign_in.pk)
    assert "very-secret-value" not in stored.client_secret_ciphertext
    assert company_sign_in_secret(stored) == "very-secret-value"
    assert stored.issuer_url == "https://acme.okta.com" and not stored.enabled
    company_sign_in_save(
        company=tenancy.company,
        issuer_url=stored.issuer_url,
        client_id="client-2",
        client_secret=None,
        domains=["a.test"],
    )
    stored.refresh_from_db()
    assert company_sign_in_secret(stored) == "very-secret-value" and stored.client_id == "client-2"
    assert list(stored.domains.values_list("domain", flat=True)) == ["a.test"]


@pytest.mark.django_db
def test_turning_on_needs_a_discovery_document_in_order(tenancy):
    sign_in = company_sign_in_save(
        company=tenancy.company,
        issuer_url=f"http://127.0.0.1:{closed_port()}",
        client_id="c",
        client_secret="s",
        domains=["acme.test"],
    )
    assert not company_sign_in_turn_on(sign_in=sign_in).ok
    assert not CompanySignIn.objects.get(pk=sign_in.pk).enabled
    with discovery_server() as issuer:
        sign_in.issuer_url = issuer
        assert company_sign_in_turn_on(sign_in=sign_in).ok
    assert CompanySignIn.objects.get(pk=sign_in.pk).enabled
    company_sign_in_turn_off(sign_in=sign_in)
    assert not CompanySignIn.objects.get(pk=sign_in.pk).enabled
