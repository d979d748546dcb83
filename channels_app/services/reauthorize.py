"""Reauthorizing a channel: new credentials for the channel (an OAuth sign-in, or an IMAP password), made
active again, with who did it recorded and the incident closed."""

from functools import partial

from django.db import transaction

from channels_app.models import Channel, ChannelStatus, NotificationKind, ReasonCode, ReauthorizationLink, User
from channels_app.providers import Credentials, MailProvider, ProviderFailure
from channels_app.services.connect import WrongAccount, shared_mailbox_verify
from channels_app.services.credentials import channel_credentials, channel_store_credentials
from channels_app.services.grants import grant_discard, grant_given_back_on, grant_receive
from channels_app.services.notifications import resolve_problems
from channels_app.services.oauth_state import PendingAuthorization
from channels_app.services.reauth_links import LinkProblem, LinkUnusable, link_claim, link_reason
from channels_app.services.reconnect import channel_reconnected
from channels_app.services.status import channel_set_status


def account_may_hold(*, channel: Channel, provider: MailProvider, used: str, credentials: Credentials) -> str:
    """Whether the account `used`, just signed in at the provider, may hold this channel's credentials.

    Returns the delegate to record: "" when it is the channel's own address; `used` when the channel is a
    shared mailbox opened through a delegate and `used` can open it (any delegate may take over, verified by
    opening the mailbox). Anyone else is refused with WrongAccount (NotADelegate for a shared mailbox).
    """
    if used.lower() == channel.address.lower():
        return ""
    if not channel.delegate_address:
        raise WrongAccount(used=used, expected=channel.address)
    shared_mailbox_verify(
        provider=provider, shared=channel.address, credentials=credentials, used=used, delegate=channel.delegate_address
    )
    return used.lower()


def channel_reauthorize(
    *,
    channel: Channel,
    credentials: Credentials,
    actor: User | None,
    link: ReauthorizationLink | None = None,
    delegate_address: str | None = None,
) -> None:
    """Replace the credentials, make the channel active, record who did it, and close the incident.

    Through a reauthorization `link` (no `actor`: its holder has no account with us) the link is used up
    in the same transaction that stores the credentials: of two tries through one link, one wins and the
    other raises LinkUnusable and changes nothing. `delegate_address`: whose sign-in the credentials are,
    for a shared mailbox opened through a delegate ("" for the address's own); None leaves it as it was."""
    # Mail stopped when the channel left active (a reauthorization of a working channel misses nothing).
    stopped = channel.status_since if channel.status != ChannelStatus.ACTIVE else None
    if delegate_address is not None:
        channel.delegate_address = delegate_address
    through = f" Opened through delegate {channel.delegate_address}." if channel.delegate_address else ""
    with transaction.atomic():
        if link is not None and not link_claim(link):
            raise LinkUnusable(LinkProblem.USED, link)
        channel_store_credentials(channel=channel, credentials=credentials)
        Channel.objects.filter(pk=channel.pk).update(
            failing_since=None,
            consecutive_failures=0,
            last_error="",
            next_attempt_at=None,
            delegate_address=channel.delegate_address,
        )
        channel_set_status(
            channel=channel,
            status=ChannelStatus.ACTIVE,
            reason=(link_reason(link) if link else f"Reauthorized by {actor}.") + through,
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
    grant = grant_receive(provider_kind=channel.provider, pending=pending, code=code)
    with grant_given_back_on(grant, WrongAccount, ProviderFailure):
        delegate = account_may_hold(
            channel=channel, provider=grant.provider, used=grant.used, credentials=grant.credentials
        )
    replaced = channel_credentials(channel) if channel.credentials_ciphertext else None
    # Another sign-in through the link won: these tokens are not kept.
    with grant_given_back_on(grant, LinkUnusable):
        channel_reauthorize(
            channel=channel, credentials=grant.credentials, actor=actor, link=link, delegate_address=delegate
        )
    if replaced and replaced.refresh_token != grant.credentials.refresh_token:
        # The old tokens would stay alive where revoking ends one token only (where it ends the whole
        # grant, Google, the channel holds that grant: grant_discard leaves it).
        grant_discard(provider_kind=channel.provider, credentials=replaced, address=channel.address)
