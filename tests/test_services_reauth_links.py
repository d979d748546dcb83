"""Reauthorization links: made, emailed, checked, used once, withdrawn, and their outcome told."""

from datetime import timedelta
from smtplib import SMTPServerDisconnected
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.core.signing import dumps
from django.utils import timezone

from channels_app.models import ChannelEvent, Notification, NotificationKind, ReauthorizationLink
from channels_app.services import reauth_links
from channels_app.services.reauth_links import (
    LinkNotSent,
    LinkProblem,
    LinkUnusable,
    link_claim,
    link_from_token,
    link_opened,
    link_outcome_tell,
    link_send,
    link_send_throttle,
    link_withdraw,
)

pytestmark = pytest.mark.django_db


def _token(url: str) -> str:
    return urlsplit(url).path.rstrip("/").rsplit("/", 1)[1]


def _send(tenancy, now=None, to="it@acme.test"):
    return link_send(channel=tenancy.shared_channel, sender=tenancy.admin, sent_to=to, now=now)


def test_sending_emails_a_link_that_names_who_asks_and_records_it(tenancy, settings):
    sent = _send(tenancy)
    email = mail.outbox[-1]
    assert email.to == ["it@acme.test"]
    assert sent.url in email.body and "support@acme.test" in email.body and "admin@acme.test" in email.body
    assert sent.url.startswith(settings.SITE_URL + "/reauthorize/")
    link = sent.link
    assert link.address == "support@acme.test" and link.sent_by == tenancy.admin
    assert link.expires_at - link.created_at == timedelta(hours=72)
    event = ChannelEvent.objects.get(channel=tenancy.shared_channel)
    assert event.actor == tenancy.admin and "sent to it@acme.test" in event.reason
    assert event.from_status == event.to_status == tenancy.shared_channel.status
    assert link_from_token(_token(sent.url)) == link
    # Only a digest of the link's secret is stored: the database alone cannot make a working link.
    assert _token(sent.url) not in link.nonce_digest


def test_an_email_that_cannot_be_sent_leaves_no_link(tenancy, monkeypatch):
    def refuse(*args, **kwargs):
        raise SMTPServerDisconnected("gone")

    monkeypatch.setattr(reauth_links, "send_mail", refuse)
    with pytest.raises(LinkNotSent, match="it@acme.test"):
        _send(tenancy)
    assert not ReauthorizationLink.objects.exists()
    assert not ChannelEvent.objects.exists()


@pytest.mark.parametrize(
    "spoil",
    [
        lambda token: token[:-2] + ("AA" if not token.endswith("AA") else "BB"),  # signature broken
        lambda token: "",
        lambda token: dumps({"link": 1, "nonce": "guessed"}, salt="another salt"),
    ],
)
def test_a_spoiled_token_is_invalid(tenancy, spoil):
    sent = _send(tenancy)
    with pytest.raises(LinkUnusable) as refused:
        link_from_token(spoil(_token(sent.url)))
    assert refused.value.problem is LinkProblem.INVALID


def test_a_token_signed_by_us_with_another_links_secret_is_invalid(tenancy):
    first, second = _send(tenancy), _send(tenancy, to="other@acme.test")
    forged = dumps({"link": second.link.pk, "nonce": "not-its-secret"}, salt=reauth_links.SALT, compress=True)
    with pytest.raises(LinkUnusable) as refused:
        link_from_token(forged)
    assert refused.value.problem is LinkProblem.INVALID
    assert link_from_token(_token(first.url)) == first.link


def test_a_link_expires(tenancy):
    start = timezone.now()
    sent = _send(tenancy, now=start)
    assert link_from_token(_token(sent.url), now=start + timedelta(hours=71, minutes=59)) == sent.link
    with pytest.raises(LinkUnusable) as refused:
        link_from_token(_token(sent.url), now=start + timedelta(hours=72))
    assert refused.value.problem is LinkProblem.EXPIRED


def test_a_link_works_once(tenancy):
    sent = _send(tenancy)
    assert link_claim(sent.link) is True
    assert link_claim(sent.link) is False
    with pytest.raises(LinkUnusable) as refused:
        link_from_token(_token(sent.url))
    assert refused.value.problem is LinkProblem.USED


def test_a_withdrawn_link_no_longer_works_and_the_step_is_recorded(tenancy):
    sent = _send(tenancy)
    assert link_withdraw(link=sent.link, actor=tenancy.admin) is True
    assert link_withdraw(link=sent.link, actor=tenancy.admin) is False
    assert link_claim(sent.link) is False
    with pytest.raises(LinkUnusable) as refused:
        link_from_token(_token(sent.url))
    assert refused.value.problem is LinkProblem.WITHDRAWN
    assert ChannelEvent.objects.filter(reason__contains="withdrawn by").count() == 1


def test_a_link_is_bound_to_the_account_it_was_sent_for(tenancy):
    sent = _send(tenancy)
    tenancy.shared_channel.address = "someone-else@acme.test"
    tenancy.shared_channel.save(update_fields=["address"])
    with pytest.raises(LinkUnusable) as refused:
        link_from_token(_token(sent.url))
    assert refused.value.problem is LinkProblem.CHANNEL_CHANGED


def test_the_first_opening_is_recorded_once(tenancy):
    sent = _send(tenancy)
    link_opened(sent.link)
    link_opened(sent.link)
    assert ChannelEvent.objects.filter(reason__contains="was opened").count() == 1


def test_sending_is_limited_per_person_and_per_channel(tenancy, settings):
    settings.REAUTH_LINKS_PER_HOUR = 2
    now = 1_800_000_000.0
    channel = tenancy.shared_channel
    assert link_send_throttle(sender_id=tenancy.admin.pk, channel_id=channel.pk, now=now) is None
    assert link_send_throttle(sender_id=tenancy.admin.pk, channel_id=channel.pk + 1, now=now) is None
    assert link_send_throttle(sender_id=tenancy.admin.pk, channel_id=channel.pk + 2, now=now) is not None
    # Another person, the same channel: the channel's own count is not used up yet.
    assert link_send_throttle(sender_id=tenancy.member.pk, channel_id=channel.pk, now=now) is None
    assert link_send_throttle(sender_id=tenancy.outsider.pk, channel_id=channel.pk, now=now) is not None
    assert link_send_throttle(sender_id=tenancy.admin.pk, channel_id=channel.pk, now=now + 3600) is None


def test_the_outcome_is_told_to_the_sender_and_the_alert_recipients_once_each(
    tenancy, make_user, make_workspace_membership
):
    workspace_admin = make_user("wsadmin@acme.test")
    make_workspace_membership(user=workspace_admin, workspace=tenancy.workspace, role="admin")
    sent = _send(tenancy)
    mail.outbox.clear()
    link_outcome_tell(sent.link, succeeded=False, detail="You signed in as x@acme.test.")
    told = Notification.objects.filter(kind=NotificationKind.LINK_REFUSED)
    assert sorted(n.recipient.email for n in told) == ["admin@acme.test", "wsadmin@acme.test"]
    assert all("was refused: You signed in as x@acme.test." in n.message for n in told)
    link_outcome_tell(sent.link, succeeded=True, detail="")
    assert Notification.objects.filter(kind=NotificationKind.LINK_USED).count() == 2
    assert ChannelEvent.objects.filter(reason__contains="was reauthorized through the link").count() == 1
