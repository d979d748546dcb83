"""Where we may open an IMAP connection: host names as people type them, the addresses they resolve
to, and a connection made to the very address that was checked."""

import ipaddress
import socket

import pytest

from channels_app.models import Channel, ChannelStatus
from channels_app.providers import Credentials, ImapEndpoint, ImapSecurity, get_provider
from channels_app.providers.imap_network import Deadline, address_allowed, imap_host
from channels_app.services.credentials import channel_store_credentials
from channels_app.tasks import sync_channel


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


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.0.0.1",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "240.0.0.1",
        "255.255.255.255",
        "::1",
        "::",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "fe80::1",
        "fc00::1",
        "ff02::1",
        "2002:7f00:1::1",  # 6to4 around 127.0.0.1
        "64:ff9b::a00:1",  # NAT64 around 10.0.0.1
    ],
)
def test_internal_addresses_are_not_allowed(settings, address):
    settings.IMAP_ALLOWED_NETWORKS = []
    assert not address_allowed(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c", "::ffff:93.184.215.14"])
def test_public_addresses_are_allowed(settings, address):
    settings.IMAP_ALLOWED_NETWORKS = []
    assert address_allowed(ipaddress.ip_address(address))


def test_networks_staff_list_are_allowed_also_as_ipv4_mapped_addresses(settings):
    settings.IMAP_ALLOWED_NETWORKS = [ipaddress.ip_network("10.1.0.0/16")]
    assert address_allowed(ipaddress.ip_address("10.1.2.3"))
    assert address_allowed(ipaddress.ip_address("::ffff:10.1.2.3"))
    assert not address_allowed(ipaddress.ip_address("10.2.0.1"))


def test_the_name_is_looked_up_once_and_the_checked_address_is_the_one_connected_to(memory_imap, monkeypatch):
    """A name whose next answer points inside (DNS rebinding) never gets that second answer asked for."""
    real = socket.getaddrinfo
    answers: list[str] = []

    def rebinding(host, port, *args, **kwargs):
        answers.append("127.0.0.1" if not answers else "10.0.0.1")
        return real(answers[-1], port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    endpoint = ImapEndpoint("imap.rebinding.test", memory_imap.port, ImapSecurity.NONE, "me")
    with get_provider("imap").open_mailbox(endpoint, Credentials(password="pw")) as client:
        client.select_folder("INBOX", readonly=True)
    assert answers == ["127.0.0.1"]
    assert memory_imap.logins == [("me", "pw")]


def test_a_channel_whose_server_now_resolves_inside_fails_as_configuration(
    tenancy, memory_imap, settings, django_capture_on_commit_callbacks
):
    channel = tenancy.shared_channel
    channel.provider, channel.imap_host, channel.imap_port = "imap", "127.0.0.1", memory_imap.port
    channel.imap_security, channel.imap_username = "none", channel.address
    channel.save()
    channel_store_credentials(channel=channel, credentials=Credentials(password="pw"))
    assert "ok" in sync_channel(channel.pk)
    settings.IMAP_ALLOWED_NETWORKS = []
    Channel.objects.filter(pk=channel.pk).update(next_attempt_at=None)
    with django_capture_on_commit_callbacks(execute=True):
        result = sync_channel(channel.pk)
    channel.refresh_from_db()
    assert "configuration_failure" in result
    assert channel.configuration_error == "The mail server's address is not one we connect to."
    assert channel.status == ChannelStatus.ACTIVE
    assert len(memory_imap.logins) == 1, "the second sync connected nowhere"


def test_the_deadline_ends_a_read_that_is_waiting_on_a_watched_socket():
    ours, theirs = socket.socketpair()
    with ours, theirs:
        ours.settimeout(30)  # a guard: the deadline ends the read long before
        deadline = Deadline(0.05)
        deadline.watch(ours)
        assert ours.recv(1) == b""
        assert deadline.cancel() is True


def test_a_cancelled_deadline_leaves_the_socket_alone():
    ours, theirs = socket.socketpair()
    with ours, theirs:
        deadline = Deadline(0.05)
        deadline.watch(ours)
        assert deadline.cancel() is False
        theirs.sendall(b"still here")
        ours.settimeout(30)
        assert ours.recv(10) == b"still here"


def test_fetched_mail_is_not_formatted_for_a_protocol_log_nobody_reads(memory_imap):
    """imaplib at IMAPClient's debug level 5 formats the repr of every fetched message (twice) even with
    logging off: a quarter of a backfill's CPU. Our client turns it off."""
    endpoint = ImapEndpoint("127.0.0.1", memory_imap.port, ImapSecurity.NONE, "me")
    with get_provider("imap").open_mailbox(endpoint, Credentials(password="pw")) as client:
        formatted: list[str] = []
        client._imap._mesg = formatted.append
        client.select_folder("INBOX", readonly=True)
        client.search(["ALL"])
    assert formatted == []
