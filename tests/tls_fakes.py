"""A small IMAP server on loopback that speaks TLS (from the first byte, or after STARTTLS) with a
certificate of our own, and a client context that trusts that certificate alone.

It records each command it receives and whether it arrived encrypted, so a test can see that the
password only ever travelled inside TLS.
"""

import datetime
import ipaddress
import ssl
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.network_fakes import Listener, listening


@dataclass(frozen=True)
class Certificate:
    cert_file: Path
    key_file: Path


@cache
def certificate(name: str) -> Certificate:
    """A self-signed certificate for `name` (a DNS name, or an IP address as its SAN)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    try:
        alt: x509.GeneralName = x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        alt = x509.DNSName(name)
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([alt]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    directory = Path(tempfile.mkdtemp(prefix="imap-tls-"))
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return Certificate(cert_file, key_file)


def trusting(*names: str) -> ssl.SSLContext:
    """What our client would use if these certificates were signed by a public CA."""
    context = ssl.create_default_context()
    for name in names:
        context.load_verify_locations(cafile=str(certificate(name).cert_file))
    return context


@dataclass
class TlsImap:
    port: int
    listener: Listener
    # Each command's name and whether it came over TLS; each LOGIN's user name and password.
    commands: list[tuple[str, bool]] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)


@contextmanager
def tls_imap(*, implicit: bool, certificate_for: str = "localhost", offer_starttls: bool = True) -> Iterator[TlsImap]:
    """Serves implicit TLS (port 993 style) or plain IMAP that upgrades on STARTTLS (port 143 style)."""
    cert = certificate(certificate_for)
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(str(cert.cert_file), str(cert.key_file))
    capabilities = b"IMAP4rev1 AUTH=PLAIN" + (b" STARTTLS" if offer_starttls and not implicit else b"")

    def serve(conn, listener):  # type: ignore[no-untyped-def]
        stream = server_context.wrap_socket(conn, server_side=True) if implicit else conn
        encrypted = implicit
        stream.settimeout(5)
        stream.sendall(b"* OK [CAPABILITY " + capabilities + b"] Fake TLS ready.\r\n")
        reader = stream.makefile("rb")
        while line := reader.readline():
            tag, _, rest = line.rstrip(b"\r\n").partition(b" ")
            name, _, arguments = rest.partition(b" ")
            command = name.decode().upper()
            fake.commands.append((command, encrypted))
            if command == "CAPABILITY":
                stream.sendall(b"* CAPABILITY " + capabilities + b"\r\n" + tag + b" OK done\r\n")
            elif command == "STARTTLS" and offer_starttls and not encrypted:
                stream.sendall(tag + b" OK Begin TLS negotiation now\r\n")
                stream = server_context.wrap_socket(stream, server_side=True)
                reader = stream.makefile("rb")
                encrypted = True
            elif command == "LOGIN":
                user, password = (part.strip(b'"').decode() for part in arguments.split(b" ", 1))
                fake.logins.append((user, password))
                stream.sendall(tag + b" OK Logged in\r\n")
            elif command in ("SELECT", "EXAMINE"):
                stream.sendall(b"* 0 EXISTS\r\n* OK [UIDVALIDITY 1] ok\r\n" + tag + b" OK [READ-ONLY] done\r\n")
            elif command == "LOGOUT":
                stream.sendall(b"* BYE bye\r\n" + tag + b" OK done\r\n")
                return
            else:
                stream.sendall(tag + b" BAD unknown command\r\n")

    with listening(serve) as listener:
        fake = TlsImap(port=listener.port, listener=listener)
        yield fake


@pytest.fixture
def trust_local_certificates(monkeypatch: pytest.MonkeyPatch) -> None:
    """Our client trusts the fake servers' certificates for localhost and 127.0.0.1 (and no others)."""
    monkeypatch.setattr("channels_app.providers.imap_network.tls_context", lambda: trusting("localhost", "127.0.0.1"))
