"""Where we may open an IMAP connection: the host names people type in, checked before anything is sent."""

import ipaddress
import re
import ssl

_LABEL = re.compile(r"(?!-)[a-z0-9_-]{1,63}(?<!-)")
_BAD_HOST = "Enter the server's name (such as imap.example.com) or its IP address."


def tls_context() -> ssl.SSLContext:
    """Certificates verified against the host name the person typed, whatever address we connect to."""
    return ssl.create_default_context()


def imap_host(value: str) -> str:
    """The host as we connect to it: an IP address, or a DNS name in its ASCII (IDNA) form.

    ValueError for anything else, so that no socket or codec ever sees a name it would choke on (a label
    longer than 63 characters makes the idna codec raise a UnicodeError).
    """
    host = value.strip()
    literal = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        return str(ipaddress.ip_address(literal))
    except ValueError:
        pass
    # A fully qualified name may end with the root's dot.
    name = host.removesuffix(".")
    try:
        ascii_name = name.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise ValueError(_BAD_HOST) from None
    if len(ascii_name) > 253 or not all(_LABEL.fullmatch(label) for label in ascii_name.split(".")):
        raise ValueError(_BAD_HOST)
    return ascii_name
