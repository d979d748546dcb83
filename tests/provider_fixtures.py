"""Fixtures for tests that talk to the real local provider (OAuth server + Dovecot on loopback)."""

import dataclasses
import itertools
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, NoReturn

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from imapclient import IMAPClient
from imapclient.exceptions import LoginError

from channels_app.demo import local_consent
from channels_app.models import Channel, Company, CompanySignIn
from channels_app.providers import Credentials
from channels_app.services.company_sign_in import company_sign_in_save, company_sign_in_turn_on
from channels_app.services.credentials import channel_credentials, channel_store_credentials
from localprovider import browser, control

_seq = itertools.count(1)


def start_or_skip(instance: control.Instance) -> control.Instance:
    """Start the provider; where it cannot run, skip saying why, except under CI where it must run."""
    try:
        return control.start(instance)
    except control.LocalProviderUnavailable as unavailable:
        skip_unavailable(unavailable)


def skip_unavailable(unavailable: control.LocalProviderUnavailable) -> NoReturn:
    """Skips the test saying why the provider cannot run on this machine; fails it instead under CI."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"The local provider must run under CI, but: {unavailable.reason}")
    pytest.skip(f"The local provider cannot run here: {unavailable.reason}")


@pytest.fixture(scope="session")
def local_provider() -> Iterator[control.Instance]:
    instance = start_or_skip(control.instance_from_env())
    yield instance
    control.stop(instance)


@pytest.fixture
def provider_servers(local_provider: control.Instance) -> Iterator[control.Instance]:
    """The local provider, put back up after a test that stops one of its servers."""
    yield local_provider
    control.start(local_provider)


@dataclass(frozen=True)
class Mailbox:
    address: str
    password: str


@pytest.fixture
def make_mailbox(local_provider: control.Instance) -> Callable[..., Mailbox]:
    """A fresh mailbox at the provider; unique per test, since the provider outlives the test database."""

    def make(local_part: str = "box", persona: str = "plain") -> Mailbox:
        address = f"{local_part}-{uuid.uuid4().hex[:8]}@acme.test"
        password = f"pw-{next(_seq)}-{uuid.uuid4().hex[:6]}"
        control.create_mailbox(local_provider, address, password, persona=persona)
        return Mailbox(address, password)

    return make


def oauth_round_trip(
    client: Client, start_url: str, mailbox: Mailbox, *, allow: bool = True, data=None, consent: bool = True
):
    """Start at our app, sign in and consent at the provider as `mailbox`, come back to our callback.
    consent=False: the provider sends the person back once signed in, without a consent page (a forced
    authorize answer)."""
    start = client.post(start_url, data or {})
    assert start.status_code == 302, start
    if consent:
        callback = browser.authorize_as(start["Location"], mailbox.address, mailbox.password, allow=allow)
    else:
        callback = browser.sent_back_as(start["Location"], mailbox.address, mailbox.password)
    path = reverse("oauth_callback")
    assert callback.split("?")[0].endswith(path), callback
    return client.get(path, browser.callback_query(callback))


def tokens_for(local_provider: control.Instance, mailbox: Mailbox, kind: str = "local") -> Credentials:
    """Real tokens for a mailbox, through the local provider module's own code exchange."""
    return local_consent(mailbox.address, mailbox.password, kind)


def shared_database_url() -> str:
    """The test database as DATABASE_URL, for a child process (a worker, a listener) to share it."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def store_issued_tokens(channel: Channel, token: dict[str, object]) -> None:
    """Give a channel the tokens `control.issue_tokens` made for its mailbox (tests and benchmarks)."""
    expires_at = timezone.now() + timedelta(seconds=int(str(token["expires_in"])))
    credentials = Credentials(
        access_token=str(token["access_token"]), refresh_token=str(token["refresh_token"]), expires_at=expires_at
    )
    channel_store_credentials(channel=channel, credentials=credentials)


def expire_access_token(channel: Channel) -> None:
    """Make the channel's stored access token look spent, so its next request refreshes it."""
    credentials = channel_credentials(channel)
    stale = dataclasses.replace(credentials, expires_at=timezone.now() - timedelta(minutes=1))
    channel_store_credentials(channel=channel, credentials=stale)


@pytest.fixture
def connect_local(local_provider: control.Instance) -> Callable[..., Channel]:
    """Give a channel real tokens for a mailbox, as if it had been connected earlier."""

    def connect(channel: Channel, mailbox: Mailbox, kind: str = "local") -> Channel:
        """`kind`: the provider module to connect with (Gmail's and Microsoft's need a mailbox of their persona)."""
        channel.provider = kind
        channel.address = mailbox.address
        channel.save(update_fields=["provider", "address"])
        channel_store_credentials(channel=channel, credentials=tokens_for(local_provider, mailbox, kind))
        return channel

    return connect


@pytest.fixture
def imap_channel(
    tenancy: Any, make_mailbox: Callable[..., Mailbox], local_provider: control.Instance
) -> Callable[..., Channel]:
    """The tenancy's shared channel as a password IMAP channel on a fresh Local mail mailbox."""

    def make(channel: Channel | None = None) -> Channel:
        mailbox = make_mailbox("idle")
        channel = channel or tenancy.shared_channel
        Channel.objects.filter(pk=channel.pk).update(
            provider="imap",
            address=mailbox.address,
            imap_host="127.0.0.1",
            imap_port=local_provider.imap_port,
            imap_security="none",
            imap_username=mailbox.address,
        )
        channel.refresh_from_db()
        channel_store_credentials(channel=channel, credentials=Credentials(password=mailbox.password))
        return channel

    return make


def sso_domain() -> str:
    """A domain of its own per test: company sign-in domains are unique, and the provider outlives the test database."""
    return f"sso-{uuid.uuid4().hex[:8]}.test"


@pytest.fixture
def company_idp(local_provider: control.Instance) -> Callable[..., CompanySignIn]:
    """`company_idp(company, domain)`: Local mail registered as the company's identity provider (a client of
    its own, as at Okta), with sign-in turned on for `domain` after a real discovery check."""

    def make(company: Company, domain: str) -> CompanySignIn:
        client_id, secret = f"sso-{uuid.uuid4().hex[:8]}", f"sso-secret-{uuid.uuid4().hex}"
        callback = reverse(
            "openid_connect_callback", kwargs={"provider_id": CompanySignIn(company=company).provider_id}
        )
        hosts = ("127.0.0.1", "localhost", "testserver")  # any port on the first two (RFC 8252)
        control.register_client(local_provider, client_id, secret, [f"http://{host}{callback}" for host in hosts])
        sign_in = company_sign_in_save(
            company=company,
            issuer_url=local_provider.base_url,
            client_id=client_id,
            client_secret=secret,
            domains=[domain],
        )
        check = company_sign_in_turn_on(sign_in=sign_in)
        assert check.ok, check.problem
        return sign_in

    return make


def xoauth2_open(instance: control.Instance, user: str, token: str) -> int:
    """XOAUTH2 as `user` with `token` at Local mail's IMAP front, then SELECT INBOX: how many messages it holds."""
    with IMAPClient(instance.imap_host, port=instance.imap_port, ssl=False, timeout=10) as client:
        client.oauth2_login(user, token)
        return int(client.select_folder("INBOX", readonly=True)[b"EXISTS"])


def xoauth2_refused(instance: control.Instance, user: str, token: str) -> str:
    """The front's refusal of that login, in its words."""
    with pytest.raises(LoginError) as refused:
        xoauth2_open(instance, user, token)
    return str(refused.value)
