"""Connecting new channels, disconnecting and removing them: the writes behind those actions (reauthorizing:
services/reauthorize.py).

Tokens we do not keep are given back to the provider (services/grants.py), so no grant we let go of
stays alive there.
"""

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables
from imapclient import IMAPClient

from channels_app.models import (
    PROBLEM_KINDS,
    Channel,
    ChannelEvent,
    ChannelStatus,
    Inbox,
    InboxKind,
    Message,
    OrganisationConnection,
    ReasonCode,
    User,
    Workspace,
)
from channels_app.providers import (
    AuthFailure,
    Credentials,
    ImapEndpoint,
    MailProvider,
    ProviderFailure,
    RevokeOutcome,
    get_provider,
)
from channels_app.providers.imap_network import Deadline
from channels_app.selectors import email_domain
from channels_app.services import graph_push
from channels_app.services.credentials import channel_credentials, channel_store_credentials
from channels_app.services.gmail_push import watch_stop
from channels_app.services.grants import grant_discard, grant_given_back_on, grant_receive
from channels_app.services.lease import channel_lease
from channels_app.services.notifications import resolve_problems
from channels_app.services.oauth_state import PendingAuthorization
from channels_app.services.push_subscriptions import push_subscribe_soon
from channels_app.services.status import channel_set_status

logger = logging.getLogger(__name__)


class WrongAccount(Exception):
    """The person signed in at the provider with another account than the channel's."""

    def __init__(self, *, used: str, expected: str) -> None:
        self.used, self.expected = used, expected
        super().__init__(self.message(through_link=False))

    @property
    def same_domain(self) -> bool:
        """Another account of the channel's own domain: typically the company's single sign-on (Okta,
        Entra ID) signing the person in as themselves whatever account they asked for."""
        return email_domain(self.used) == email_domain(self.expected)

    def message(self, *, through_link: bool) -> str:
        text = f"You signed in as {self.used}, but this channel is {self.expected}. Nothing was changed."
        if not self.same_domain:
            return f"{text} Sign in as {self.expected} to reauthorize it."
        sso = (
            f" This usually happens when your company's single sign-on signs you in as yourself: the browser "
            f"already holds a session for {self.used}."
        )
        if through_link:
            return (
                f"{text}{sso} Open this link again in a private window or a separate browser profile and sign "
                f"in as {self.expected} there."
            )
        return (
            f"{text}{sso} Two ways out: send a reauthorization link to whoever holds {self.expected} (below), "
            "or reauthorize from a private window or a separate browser profile where you are not signed in."
        )


class NotADelegate(WrongAccount):
    """The signed-in account could not open the shared mailbox: it is not (or no longer) a delegate with
    Full Access to it. Single sign-on is no explanation here: any delegate may sign in as themselves."""

    def __init__(self, *, used: str, shared: str, delegate: str = "") -> None:
        self.delegate = delegate
        super().__init__(used=used, expected=shared)

    def message(self, *, through_link: bool) -> str:
        who = f"{self.delegate} or another delegate" if self.delegate else "a delegate"
        return (
            f"You signed in as {self.used}, who cannot open the shared mailbox {self.expected}. "
            f"Nothing was changed: sign in as {who} with Full Access to it."
        )


class DuplicateChannel(Exception):
    def __init__(self, address: str) -> None:
        super().__init__(f"{address} is already connected in your company.")


@sensitive_variables("password")
def imap_verify_login(*, imap: ImapEndpoint, password: str) -> None:
    """A real login and SELECT INBOX; raises the provider layer's classified failures.

    A person waits for the answer: the SELECT gets a deadline as the sign-in did, so a server that
    dribbles its reply cannot hold the request either.
    """
    provider = get_provider("imap")
    with provider.open_mailbox(imap, Credentials(password=password)) as client:
        select_inbox(client)


def shared_mailbox_verify(
    *, provider: MailProvider, shared: str, credentials: Credentials, used: str, delegate: str = ""
) -> None:
    """Open the shared mailbox `shared` with the token of `used`, a would-be delegate (the XOAUTH2 user names
    the shared address:
    https://learn.microsoft.com/en-us/exchange/client-developer/legacy-protocols/how-to-authenticate-an-imap-pop-smtp-application-by-using-oauth,
    "SASL XOAUTH2 authentication for shared mailboxes") and SELECT its INBOX, as every sync will. A refused
    login means `used` has no Full Access to it: NotADelegate (`delegate`: the one recorded so far)."""
    try:
        with provider.open_mailbox(provider.imap_endpoint(address=shared), credentials) as client:
            select_inbox(client)
    except AuthFailure:
        raise NotADelegate(used=used, shared=shared, delegate=delegate) from None


def select_inbox(client: IMAPClient) -> None:
    """SELECT INBOX, as every sync will; a person waits for the answer, so it gets a deadline as the sign-in did
    (here, and the organisation connection's Test: services/organisation_health.py)."""
    deadline = Deadline(settings.IMAP_LOGIN_DEADLINE_SECONDS)
    deadline.watch(client.socket())
    try:
        client.select_folder("INBOX", readonly=True)
    finally:
        deadline.cancel()


def channel_create(
    *,
    actor: User,
    workspace: Workspace | None,
    inbox_name: str,
    provider: str,
    address: str,
    credentials: Credentials,
    imap: ImapEndpoint | None = None,
    import_days: int | None = None,
    delegate_address: str = "",
    organisation_connection: OrganisationConnection | None = None,
) -> Channel:
    """A new inbox with its channel: shared in `workspace`, or the actor's own when it is None.

    `delegate_address`: the delegate whose credentials open `address`, a shared mailbox ("" for its own).
    `organisation_connection`: the company's connection that opens it (its `credentials` are then empty).

    Its first import brings in the mail of the last `import_days` days (0: everything; None: the
    FIRST_IMPORT_DAYS setting), so a large mailbox does not run into the provider's download limits.
    """
    days = settings.FIRST_IMPORT_DAYS if import_days is None else import_days
    import_since = timezone.now() - timedelta(days=days) if days else None
    company = workspace.company if workspace else actor.company_membership.company
    if Channel.objects.filter(inbox__company=company, address__iexact=address).exists():
        raise DuplicateChannel(address)
    with transaction.atomic():
        inbox = Inbox.objects.create(
            company=company,
            name=inbox_name or address,
            kind=InboxKind.SHARED if workspace else InboxKind.INDIVIDUAL,
            workspace=workspace,
            owner=None if workspace else actor,
        )
        channel = Channel.objects.create(
            inbox=inbox,
            provider=provider,
            address=address.lower(),
            delegate_address=delegate_address.lower(),
            import_since=import_since,
            organisation_connection=organisation_connection,
        )
        if imap is not None:
            channel.imap_host, channel.imap_port, channel.imap_security = imap.host, imap.port, imap.security
            channel.imap_username = imap.username
            channel.save(update_fields=["imap_host", "imap_port", "imap_security", "imap_username"])
        channel_store_credentials(channel=channel, credentials=credentials)
        through = f" Opened through delegate {channel.delegate_address}." if channel.delegate_address else ""
        if organisation_connection is not None:
            through = " Opened through the organisation connection."
        channel_set_status(
            channel=channel,
            status=ChannelStatus.ACTIVE,
            reason=f"Connected by {actor}.{through}",
            actor=actor,
            log_unchanged=True,
        )
        push_subscribe_soon(channel)  # push from the start
    return channel


def oauth_connect_finish(
    *, pending: PendingAuthorization, code: str, actor: User, workspace: Workspace | None
) -> Channel:
    grant = grant_receive(provider_kind=pending.provider, pending=pending, code=code)
    address, delegate = grant.used, ""
    if pending.shared_address and pending.shared_address.lower() != grant.used.lower():
        # A shared mailbox through its delegate: opened before anything is saved.
        address, delegate = pending.shared_address.lower(), grant.used
        with grant_given_back_on(grant, WrongAccount, ProviderFailure):  # NotADelegate is a WrongAccount
            shared_mailbox_verify(
                provider=grant.provider, shared=address, credentials=grant.credentials, used=grant.used
            )
    with grant_given_back_on(grant, DuplicateChannel):
        return channel_create(
            actor=actor,
            workspace=workspace,
            inbox_name=pending.space.inbox_name if pending.space else "",
            import_days=pending.space.import_days if pending.space else None,
            provider=pending.provider,
            address=address,
            credentials=grant.credentials,
            delegate_address=delegate,
        )


def channel_disconnect(*, channel: Channel, actor: User) -> tuple[ChannelEvent | None, RevokeOutcome]:
    """Stop syncing at a person's request: the grant goes back to the provider and we forget the
    credentials; the push subscription ends and the channel's open alerts close (nobody is alerted about
    a channel we no longer read). Reauthorize connects it again."""
    credentials = channel_credentials(channel) if channel.credentials_ciphertext else Credentials()
    with transaction.atomic():
        Channel.objects.filter(pk=channel.pk).update(credentials_ciphertext="", token_expires_at=None)
        channel.credentials_ciphertext = ""
        event = channel_set_status(
            channel=channel,
            status=ChannelStatus.DISCONNECTED,
            reason=f"Disconnected by {actor}.",
            reason_code=ReasonCode.BY_PERSON,
            actor=actor,
        )
        graph_push.subscription_forget(channel)
        resolve_problems(channel=channel, kinds=PROBLEM_KINDS)
    watch_stop(channel, credentials)
    outcome = grant_discard(provider_kind=channel.provider, credentials=credentials, address=channel.address)
    return event, outcome


class ChannelBusy(Exception):
    """A sync or another job holds the channel right now: removing it under that job would break the job."""


@dataclass(frozen=True)
class Removed:
    address: str
    inbox_name: str
    messages: int
    # What became of our access at the provider; NOTHING_TO_REVOKE when it was disconnected already.
    given_back: RevokeOutcome


def channel_remove(*, channel: Channel, actor: User) -> Removed:
    """Delete the channel with its inbox and every message imported into it, for everyone; the mail itself
    stays at the provider. Still connected, it is disconnected first (the grant goes back, the credentials
    and the push subscription go). Under the channel's lease, so no sync is writing into what is deleted;
    ChannelBusy while a job holds it."""
    with channel_lease(channel.pk) as lease:
        if lease is None:
            raise ChannelBusy(channel.address)
        given_back = RevokeOutcome.NOTHING_TO_REVOKE
        if channel.status != ChannelStatus.DISCONNECTED or channel.credentials_ciphertext:
            _event, given_back = channel_disconnect(channel=channel, actor=actor)
        inbox = channel.inbox
        with transaction.atomic():
            # One DELETE for the messages (nothing refers to them), rather than the cascade loading each one.
            messages, _ = Message.objects.filter(channel=channel).delete()
            inbox.delete()
    logger.info("Channel %s (%s) removed by %s with %s message(s)", channel.pk, channel.provider, actor.pk, messages)
    return Removed(address=channel.address, inbox_name=inbox.name, messages=messages, given_back=given_back)
