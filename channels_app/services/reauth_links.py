"""Reauthorization links: whoever holds a channel's account (the IT person with the shared mailbox's
password, someone with no account with us) reauthorizes it from an emailed link.

A link is signed, works once, for the channel's account only, until it expires (REAUTH_LINK_HOURS),
unless withdrawn. Every step is a ChannelEvent; the sender and the channel's alert recipients are told
when it is used or refused. Sending is rate-limited per person and per channel.
"""

import enum
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from channels_app.models import (
    Channel,
    ChannelEvent,
    NotificationKind,
    ReauthorizationLink,
    User,
)
from channels_app.models.reauth_links import LinkState
from channels_app.providers import get_provider
from channels_app.services.notifications import alert_recipients, notify_follow_up
from channels_app.services.throttle import Throttled, throttle_hit_each

SALT = "channels_app.reauthorization-link"
EVENT_CAUSE = "reauthorization link"


class LinkProblem(enum.Enum):
    """Why a link does not work; the landing page says it in these words."""

    INVALID = "This link is not valid. Check that it was copied whole, or ask for a new one."
    EXPIRED = "This link has expired."
    USED = "This link was already used."
    WITHDRAWN = "This link was withdrawn."
    CHANNEL_CHANGED = "This channel no longer uses the account the link was sent for."


class LinkUnusable(Exception):
    def __init__(self, problem: LinkProblem, link: ReauthorizationLink | None = None) -> None:
        super().__init__(problem.value)
        self.problem, self.link = problem, link


class LinkNotSent(Exception):
    """The email could not be sent; no link was made."""


@dataclass(frozen=True)
class SentLink:
    link: ReauthorizationLink
    url: str


def _digest(nonce: str) -> str:
    return hashlib.sha256(nonce.encode()).hexdigest()


def link_event(link: ReauthorizationLink, reason: str, *, actor: User | None = None) -> ChannelEvent:
    """One step of a link in the channel's history; the channel's status is what it was."""
    channel = Channel.objects.only("status").get(pk=link.channel_id)
    return ChannelEvent.objects.create(
        channel_id=link.channel_id,
        from_status=channel.status,
        to_status=channel.status,
        reason=reason[:500],
        actor=actor,
        cause=EVENT_CAUSE,
    )


def link_send_throttle(*, sender_id: int, channel_id: int, now: float | None = None) -> Throttled | None:
    """Links per person and per channel in an hour: a form that emails any address must not be a spam relay."""
    keys = [("reauth-link", "person", sender_id), ("reauth-link", "channel", channel_id)]
    return throttle_hit_each(keys, settings.REAUTH_LINKS_PER_HOUR, 3600, now=now)


def _as_whom(channel: Channel) -> str:
    """Who can reauthorize: the account itself, or for a shared mailbox opened through a delegate, any
    delegate with Full Access to it."""
    if channel.delegate_address:
        return f"a delegate with Full Access to {channel.address} (last: {channel.delegate_address})"
    return channel.address


def _email_text(link: ReauthorizationLink, url: str, sender: User) -> tuple[str, str]:
    channel = link.channel
    label = get_provider(channel.provider).label
    company = channel.inbox.company.name
    name = " ".join(sender.get_full_name().split()) or sender.email
    who = f"{name} <{sender.email}>" if name != sender.email else sender.email
    subject = f"{name} asks you to reconnect {channel.address} to Shared Inbox"
    body = (
        f"{who} of {company} asks you to sign in to {label} as {_as_whom(channel)}, so that "
        f"Shared Inbox can read {channel.address} again for their team.\n\n"
        f"Open this link and sign in as {_as_whom(channel)} (no account with Shared Inbox is needed):\n{url}\n\n"
        f"The link works once, until {link.expires_at:%Y-%m-%d %H:%M} UTC. If you did not expect it, "
        f"ignore this email: nothing changes unless someone signs in as {channel.address}.\n"
    )
    return subject, body


def link_send(*, channel: Channel, sender: User, sent_to: str, now: datetime | None = None) -> SentLink:
    """Make a link for `channel`'s account and email it to `sent_to`; raises LinkNotSent (nothing kept)."""
    now = now or timezone.now()
    nonce = secrets.token_urlsafe(32)
    with transaction.atomic():
        link = ReauthorizationLink.objects.create(
            channel=channel,
            address=channel.address,
            sent_to=sent_to,
            sent_by=sender,
            created_at=now,
            expires_at=now + timedelta(hours=settings.REAUTH_LINK_HOURS),
            nonce_digest=_digest(nonce),
        )
        token = signing.dumps({"link": link.pk, "nonce": nonce}, salt=SALT, compress=True)
        url = settings.SITE_URL + reverse("reauth_link", args=[token])
        subject, body = _email_text(link, url, sender)
        try:
            # Inside the transaction: a link whose email did not go out is not kept.
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [sent_to], fail_silently=False)
        except Exception as error:
            transaction.set_rollback(True)
            raise LinkNotSent(f"The email to {sent_to} could not be sent ({type(error).__name__}).") from error
        link_event(link, f"Reauthorization link sent to {sent_to} by {sender}.", actor=sender)
    return SentLink(link, url)


def link_from_token(token: str, *, now: datetime | None = None) -> ReauthorizationLink:
    """The open link a token names; raises LinkUnusable saying why not."""
    try:
        payload = signing.loads(token, salt=SALT)
        link_id, nonce = int(payload["link"]), str(payload["nonce"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise LinkUnusable(LinkProblem.INVALID) from None
    link = ReauthorizationLink.objects.select_related("channel__inbox__company", "sent_by").filter(pk=link_id).first()
    if link is None or not secrets.compare_digest(link.nonce_digest, _digest(nonce)):
        raise LinkUnusable(LinkProblem.INVALID)
    return link_check_open(link, now=now)


def link_check_open(link: ReauthorizationLink, *, now: datetime | None = None) -> ReauthorizationLink:
    state = link.state(now)
    if state != LinkState.OPEN:
        raise LinkUnusable(LinkProblem[state.name], link)
    if link.channel.address.lower() != link.address.lower():
        raise LinkUnusable(LinkProblem.CHANNEL_CHANGED, link)
    return link


def link_opened(link: ReauthorizationLink) -> None:
    """Record the first time the link's page is opened."""
    if ReauthorizationLink.objects.filter(pk=link.pk, opened_at=None).update(opened_at=timezone.now()):
        link_event(link, f"Reauthorization link sent to {link.sent_to} was opened.")


def link_claim(link: ReauthorizationLink, *, now: datetime | None = None) -> bool:
    """Use the link up, atomically: of two sign-ins finishing at once only one gets it."""
    now = now or timezone.now()
    return bool(ReauthorizationLink.objects.open(now).filter(pk=link.pk).update(used_at=now))


def link_reason(link: ReauthorizationLink) -> str:
    """Why the channel became active, in its history: there is no person of ours to name."""
    return f"Reauthorized through a link sent to {link.sent_to} by {link.sent_by}."


def link_withdraw(*, link: ReauthorizationLink, actor: User) -> bool:
    """Withdraw an open link; False when it was no longer open."""
    withdrawn = ReauthorizationLink.objects.filter(pk=link.pk, used_at=None, withdrawn_at=None).update(
        withdrawn_at=timezone.now(), withdrawn_by=actor
    )
    if withdrawn:
        link_event(link, f"Reauthorization link sent to {link.sent_to} withdrawn by {actor}.", actor=actor)
    return bool(withdrawn)


def _told(link: ReauthorizationLink) -> list[User]:
    people = {user.pk: user for user in alert_recipients(link.channel)}
    if link.sent_by and link.sent_by.is_active:
        people.setdefault(link.sent_by.pk, link.sent_by)
    return list(people.values())


def link_outcome_tell(link: ReauthorizationLink, *, succeeded: bool, detail: str) -> None:
    """Record the outcome of a sign-in through the link and tell the sender and the alert recipients."""
    channel = link.channel
    if succeeded:
        text = f"{channel.address} was reauthorized through the link sent to {link.sent_to}."
        kind = NotificationKind.LINK_USED
    else:
        text = f"A sign-in through the link sent to {link.sent_to} was refused: {detail}"
        kind = NotificationKind.LINK_REFUSED
    with transaction.atomic():
        link_event(link, text)
        notify_follow_up(channel=channel, kind=kind, recipients=_told(link), text=text[:500])
