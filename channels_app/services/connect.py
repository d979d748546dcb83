"""Connecting new channels, reauthorizing and disconnecting them: the writes behind those round trips.

Tokens we do not keep are given back to the provider (`grant_discard`), so no grant we let go of
stays alive there.
"""

import logging
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from channels_app.models import (
    Channel,
    ChannelEvent,
    ChannelStatus,
    Inbox,
    InboxKind,
    NotificationKind,
    ReasonCode,
    ReauthorizationLink,
    User,
    Workspace,
)
from channels_app.providers import Credentials, ImapEndpoint, RevokeOutcome, get_provider
from channels_app.providers.imap_network import Deadline
from channels_app.services.credentials import channel_credentials, channel_store_credentials
from channels_app.services.gmail_push import gmail_provider, watch_soon, watch_stop
from channels_app.services.notifications import resolve_problems
from channels_app.services.oauth_state import PendingAuthorization
from channels_app.services.reauth_links import LinkProblem, LinkUnusable, link_claim, link_reason
from channels_app.services.reconnect import channel_reconnected
from channels_app.services.status import channel_set_status

logger = logging.getLogger(__name__)


def grant_discard(*, provider_kind: str, credentials: Credentials, address: str) -> RevokeOutcome:
    """Give back a grant we will not keep.

    Not when another channel uses the same account: Google revokes the whole grant of an account
    for our app, so revoking a stray token would also cut off that channel.
    """
    if (
        Channel.objects.filter(provider=provider_kind, address__iexact=address)
        .exclude(credentials_ciphertext="")
        .exists()
    ):
        return RevokeOutcome.NOTHING_TO_REVOKE
    outcome = get_provider(provider_kind).revoke(credentials)
    logger.info("Gave back a %s grant we do not keep: %s", provider_kind, outcome.value)
    return outcome


class WrongAccount(Exception):
    """The person signed in at the provider with another account than the channel's."""

    def __init__(self, *, used: str, expected: str) -> None:
        self.used, self.expected = used, expected
        super().__init__(self.message(through_link=False))

    @property
    def same_domain(self) -> bool:
        """Another account of the channel's own domain: typically the company's single sign-on (Okta,
        Entra ID) signing the person in as themselves whatever account they asked for."""
        return self.used.rpartition("@")[2].lower() == self.expected.rpartition("@")[2].lower()

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
        deadline = Deadline(settings.IMAP_LOGIN_DEADLINE_SECONDS)
        deadline.watch(client.socket())
        try:
            client.select_folder("INBOX", readonly=True)
        finally:
            deadline.cancel()


def channel_reauthorize(*, channel: Channel, credentials: Credentials, actor: User | None, reason: str = "") -> None:
    """Replace the credentials, make the channel active, record who did it, and close the incident.

    `actor` is None when someone without an account with us did it (a reauthorization link); `reason`
    then says who."""
    # Mail stopped when the channel left active (a reauthorization of a working channel misses nothing).
    stopped = channel.status_since if channel.status != ChannelStatus.ACTIVE else None
    with transaction.atomic():
        channel_store_credentials(channel=channel, credentials=credentials)
        Channel.objects.filter(pk=channel.pk).update(
            failing_since=None, consecutive_failures=0, last_error="", next_attempt_at=None
        )
        channel_set_status(
            channel=channel,
            status=ChannelStatus.ACTIVE,
            reason=reason or f"Reauthorized by {actor}.",
            reason_code=ReasonCode.BY_PERSON,
            actor=actor,
            log_unchanged=True,
        )
        # The pop-ups go away now; the people told get the "reconnected" notice
        # with the backfill's receipt once the missed mail is in.
        told = resolve_problems(channel=channel, kinds=(NotificationKind.NEEDS_REAUTH, NotificationKind.UNREACHABLE))
        transaction.on_commit(
            partial(
                channel_reconnected,
                channel_id=channel.pk,
                actor_id=actor.pk if actor else None,
                notify_user_ids=[u.pk for u in told],
                incident_started_at=stopped,
            )
        )


def oauth_reauthorize_finish(
    *,
    channel: Channel,
    pending: PendingAuthorization,
    code: str,
    actor: User | None,
    link: ReauthorizationLink | None = None,
) -> None:
    """Exchange the code, check whose token it is, and only then touch the channel.

    Through a reauthorization `link` (no `actor`), the link is used up in the same transaction that
    stores the tokens: of two sign-ins through one link, one wins and the other changes nothing."""
    provider = get_provider(channel.provider)
    credentials = provider.exchange_code(
        code=code, redirect_uri=pending.redirect_uri, code_verifier=pending.code_verifier
    )
    used = provider.account_address(credentials)
    if used.lower() != channel.address.lower():
        grant_discard(provider_kind=channel.provider, credentials=credentials, address=used)
        raise WrongAccount(used=used, expected=channel.address)
    replaced = channel_credentials(channel) if channel.credentials_ciphertext else None
    with transaction.atomic():
        if link is not None and not link_claim(link):
            if not provider.revocation_ends_grant:  # at Google it would end the channel's grant too
                provider.revoke(credentials)
            raise LinkUnusable(LinkProblem.USED, link)
        reason = link_reason(link) if link else ""
        channel_reauthorize(channel=channel, credentials=credentials, actor=actor, reason=reason)
    if replaced and replaced.refresh_token != credentials.refresh_token and not provider.revocation_ends_grant:
        # The old tokens would stay alive where revoking ends one token only; where it ends the whole
        # grant (Google) it would end the new tokens too, and the old ones are the same grant anyway.
        outcome = provider.revoke(replaced)
        logger.info("Gave back the %s tokens a reauthorization replaced: %s", provider.kind, outcome.value)


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
) -> Channel:
    """A new inbox with its channel: shared in `workspace`, or the actor's own when it is None.

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
            inbox=inbox, provider=provider, address=address.lower(), import_since=import_since
        )
        if imap is not None:
            channel.imap_host, channel.imap_port, channel.imap_security = imap.host, imap.port, imap.security
            channel.imap_username = imap.username
            channel.save(update_fields=["imap_host", "imap_port", "imap_security", "imap_username"])
        channel_store_credentials(channel=channel, credentials=credentials)
        channel_set_status(
            channel=channel,
            status=ChannelStatus.ACTIVE,
            reason=f"Connected by {actor}.",
            actor=actor,
            log_unchanged=True,
        )
    if gmail_provider(channel) is not None:
        # Push from the start: the watch is made right after the channel is saved.
        watch_soon(channel.pk)
    return channel


def oauth_connect_finish(
    *, pending: PendingAuthorization, code: str, actor: User, workspace: Workspace | None
) -> Channel:
    provider = get_provider(pending.provider)
    credentials = provider.exchange_code(
        code=code, redirect_uri=pending.redirect_uri, code_verifier=pending.code_verifier
    )
    address = provider.account_address(credentials)
    try:
        return channel_create(
            actor=actor,
            workspace=workspace,
            inbox_name=pending.space.get("inbox_name", ""),
            import_days=pending.space.get("import_days"),
            provider=pending.provider,
            address=address,
            credentials=credentials,
        )
    except DuplicateChannel:
        grant_discard(provider_kind=pending.provider, credentials=credentials, address=address)
        raise


def channel_disconnect(*, channel: Channel, actor: User) -> tuple[ChannelEvent | None, RevokeOutcome]:
    """Stop syncing at a person's request: the grant goes back to the provider and we forget the
    credentials. Reauthorize connects it again."""
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
    watch_stop(channel, credentials)
    outcome = grant_discard(provider_kind=channel.provider, credentials=credentials, address=channel.address)
    return event, outcome
