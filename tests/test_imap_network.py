"""Where we may open an IMAP connection: host names as people type them."""

import pytest

from channels_app.providers.imap_network import imap_host


@pytest.mark.parametrize(
    ("typed", "host"),
    [
        ("imap.example.com", "imap.example.com"),
        (" IMAP.Example.COM. ", "imap.example.com"),
        ("bücher.example", "xn--bcher-kva.example"),
        ("a" * 63 + ".example", "a" * 63 + ".example"),
        ("192.0.2.7", "192.0.2.7"),
        ("[2001:db8::1]", "2001:db8::1"),
        ("2001:db8::1", "2001:db8::1"),
    ],
)
def test_a_host_is_kept_as_we_connect_to_it(typed, host):
    assert imap_host(typed) == host


@pytest.mark.parametrize(
    "typed",
    [
        "a" * 64 + ".example.com",  # the idna codec raised a UnicodeError on it
        ("a" * 63 + ".") * 4 + "com",  # 259 characters
        "a..example",
        "",
        "imap example.com",
        "imap.example.com:993",
        "imap.example.com\r\nA1 DELETE INBOX",
        "-imap.example.com",
        "imap/.example.com",
    ],
)
def test_what_is_neither_a_name_nor_an_address_is_refused(typed):
    with pytest.raises(ValueError, match="server's name"):
        imap_host(typed)
