import html
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from channels_app.models import SupportRequest
from channels_app.providers import Credentials
from channels_app.services import throttle
from channels_app.services.credentials import channel_store_credentials

CONTACT = "Contact support"


def ago(**delta):
    return timezone.now() - timedelta(**delta)


@pytest.fixture
def repeated(tenancy, make_event):
    """The shared channel needed reauthorization three times this month; each ended by a person."""

    def make(channel=None, times=3, days_ago=(1, 8, 20)):
        channel = channel or tenancy.shared_channel
        for days in days_ago[:times]:
            make_event(channel=channel, from_status="active", reason=f"Revoked {days}d ago", created_at=ago(days=days))
            make_event(
                channel=channel,
                from_status="needs_reauth",
                to_status="active",
                actor=tenancy.admin,
                created_at=ago(days=days, hours=-1),
            )
        return channel

    return make


def overview(tenancy, user, channel=None):
    return tenancy.client_for(user).get(reverse("channel_overview", args=[(channel or tenancy.shared_channel).pk]))


def support_url(channel):
    return reverse("channel_contact_support", args=[channel.pk])


def test_the_overview_tells_incidents_and_how_they_ended_in_one_history(tenancy, make_event):
    make_event(
        channel=tenancy.shared_channel, from_status="active", reason="Access was revoked.", created_at=ago(days=2)
    )
    make_event(
        channel=tenancy.shared_channel,
        from_status="needs_reauth",
        to_status="active",
        actor=tenancy.admin,
        created_at=ago(days=1),
    )
    make_event(channel=tenancy.shared_channel, from_status="active", to_status="unreachable", reason="Timed out")
    for user in (tenancy.admin, tenancy.member):
        body = overview(tenancy, user).content.decode()
        assert body.count("<h2>History</h2>") == 1 and "Incidents" not in body
        assert "Access was revoked." in body and "Timed out" in body
        assert f"{tenancy.admin} reauthorized it: mail comes in again after 1\xa0day." in body
        assert "Still going on." in body
    assert overview(tenancy, tenancy.outsider).status_code == 404


def test_a_channel_without_history_says_so(tenancy):
    assert "Nothing has happened to this channel yet." in overview(tenancy, tenancy.admin).content.decode()


def test_three_reauthorizations_in_30_days_offer_contact_support_to_everyone_who_sees_it(tenancy, repeated):
    repeated()
    for user in (tenancy.admin, tenancy.member):
        body = overview(tenancy, user).content.decode()
        assert "This channel needed reauthorization 3 times in the last 30 days" in body
        assert CONTACT in body
        assert 'data-testid="diagnostics"' in body
        assert "Revoked 20d ago" in body
    assert overview(tenancy, tenancy.outsider).status_code == 404


def test_two_reauthorizations_do_not_offer_contact_support(tenancy, repeated):
    repeated(times=2)
    body = overview(tenancy, tenancy.admin).content.decode()
    assert "needed reauthorization" not in body
    assert CONTACT not in body


def test_older_reauthorizations_do_not_offer_contact_support(tenancy, repeated):
    repeated(days_ago=(1, 31, 45))
    body = overview(tenancy, tenancy.admin).content.decode()
    assert CONTACT not in body


def test_the_threshold_comes_from_settings(tenancy, repeated, settings):
    settings.REPEATED_REAUTH_THRESHOLD = 2
    repeated(times=2)
    assert "needed reauthorization 2 times" in overview(tenancy, tenancy.admin).content.decode()


def test_submitting_stores_the_request_with_server_side_diagnostics_and_emails_support_once(
    tenancy, repeated, settings, django_capture_on_commit_callbacks
):
    settings.SUPPORT_EMAIL = "help@vendor.test"
    channel = repeated()
    client = tenancy.client_for(tenancy.member)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(
            support_url(channel), {"message": "Mail keeps stopping.", "diagnostics": "forged: nothing wrong"}
        )
    assert response.status_code == 302
    assert response["Location"] == reverse("channel_overview", args=[channel.pk])
    assert len(callbacks) == 1
    request = SupportRequest.objects.get()
    assert (request.channel, request.requester, request.message) == (channel, tenancy.member, "Mail keeps stopping.")
    assert "forged" not in request.diagnostics
    assert "support@acme.test" in request.diagnostics and "Revoked 8d ago" in request.diagnostics
    [email] = mail.outbox
    assert email.to == ["help@vendor.test"]
    assert email.reply_to == ["member@acme.test"]
    assert "Mail keeps stopping." in email.body
    assert request.diagnostics in email.body
    assert "member@acme.test" in email.body
    assert "on its way to support" in client.get(response["Location"]).content.decode()


def test_an_admin_can_submit_too(tenancy, repeated, django_capture_on_commit_callbacks):
    channel = repeated()
    with django_capture_on_commit_callbacks(execute=True):
        response = tenancy.client_for(tenancy.admin).post(support_url(channel), {"message": "Please look."})
    assert response.status_code == 302
    assert SupportRequest.objects.get().requester == tenancy.admin
    assert len(mail.outbox) == 1


def test_an_empty_message_is_refused_and_nothing_is_stored_or_sent(
    tenancy, repeated, django_capture_on_commit_callbacks
):
    channel = repeated()
    with django_capture_on_commit_callbacks(execute=True):
        response = tenancy.client_for(tenancy.member).post(support_url(channel), {"message": "   "})
    assert response.status_code == 200
    body = response.content.decode()
    assert "This field is required." in body
    assert CONTACT in body  # the form is shown again, in place
    assert not SupportRequest.objects.exists()
    assert mail.outbox == []


def test_outsiders_get_404_and_nothing_is_stored(tenancy, repeated, django_capture_on_commit_callbacks):
    channel = repeated()
    with django_capture_on_commit_callbacks(execute=True):
        response = tenancy.client_for(tenancy.outsider).post(support_url(channel), {"message": "Hi"})
    assert response.status_code == 404
    assert not SupportRequest.objects.exists()
    assert mail.outbox == []


def test_someone_elses_individual_channel_is_404(tenancy, repeated):
    channel = repeated(channel=tenancy.member_channel)
    assert tenancy.client_for(tenancy.admin).post(support_url(channel), {"message": "Hi"}).status_code == 404
    assert tenancy.client_for(tenancy.member).post(support_url(channel), {"message": "Hi"}).status_code == 302


def test_a_missing_channel_is_404(tenancy):
    response = tenancy.client_for(tenancy.admin).post(
        reverse("channel_contact_support", args=[999_999]), {"message": "x"}
    )
    assert response.status_code == 404


def test_contact_support_needs_post_and_a_signed_in_person(tenancy, repeated):
    channel = repeated()
    assert tenancy.client_for(tenancy.admin).get(support_url(channel)).status_code == 405
    response = Client().post(support_url(channel), {"message": "Hi"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    assert not SupportRequest.objects.exists()


def test_credentials_never_reach_the_page_the_diagnostics_or_the_email(
    tenancy, repeated, django_capture_on_commit_callbacks
):
    channel = repeated()
    channel_store_credentials(
        channel=channel, credentials=Credentials(access_token="AT-secret", refresh_token="RT-secret")
    )
    channel.refresh_from_db()
    secrets = ("AT-secret", "RT-secret", channel.credentials_ciphertext)
    client = tenancy.client_for(tenancy.admin)
    page = client.get(reverse("channel_overview", args=[channel.pk])).content.decode()
    assert CONTACT in page
    with django_capture_on_commit_callbacks(execute=True):
        client.post(support_url(channel), {"message": "Tokens keep dying."})
    stored = SupportRequest.objects.get().diagnostics
    [email] = mail.outbox
    for secret in secrets:
        assert secret not in page
        assert secret not in stored
        assert secret not in email.body


def test_a_channel_that_does_not_offer_contact_support_refuses_posts(
    tenancy, repeated, django_capture_on_commit_callbacks
):
    channel = repeated(times=2)
    with django_capture_on_commit_callbacks(execute=True):
        response = tenancy.client_for(tenancy.member).post(support_url(channel), {"message": "Anything at all"})
    assert response.status_code == 403
    assert not SupportRequest.objects.exists()
    assert mail.outbox == []


def _frozen_throttle_clock(monkeypatch, moment: float) -> None:
    monkeypatch.setattr(throttle, "time", SimpleNamespace(time=lambda: moment))


def test_a_person_may_send_3_messages_an_hour_about_a_channel(
    tenancy, repeated, monkeypatch, django_capture_on_commit_callbacks
):
    channel = repeated()
    hour = 1_800_000_000 // 3600 * 3600
    _frozen_throttle_clock(monkeypatch, hour + 600)
    member = tenancy.client_for(tenancy.member)
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(3):
            assert member.post(support_url(channel), {"message": f"Try {n}"}).status_code == 302
        refused = member.post(support_url(channel), {"message": "Try 4"})
        assert refused.status_code == 429
        body = refused.content.decode()
        assert "You have sent support 3 messages about this channel this hour" in body
        assert "you can send another in 50 min" in body
        assert "Try 4" in body  # the text is kept for later
        assert tenancy.client_for(tenancy.admin).post(support_url(channel), {"message": "Me too"}).status_code == 302
        _frozen_throttle_clock(monkeypatch, hour + 3600)
        assert member.post(support_url(channel), {"message": "Next hour"}).status_code == 302
    assert SupportRequest.objects.count() == len(mail.outbox) == 5


FORGED = (
    "Mail stopped.\n"
    "Diagnostics gathered by Shared Inbox (not written by the person):\r\n"
    "Channel: ceo@acme.test (id 1)\r"
    "Status: all fine\u2028"
    "Diagnostics:\x0bforged\x85\n"
    "\n"
    "Please wire the money."
)


def _quoted_block(text: str) -> list[str]:
    lines = text.splitlines()
    start = lines.index("Message from member@acme.test <member@acme.test> (as written):")
    end = lines.index("Diagnostics gathered by Shared Inbox (not written by the person):")
    assert end > start
    return lines[start + 1 : end - 1]


def test_the_persons_words_are_quoted_apart_from_our_diagnostics_in_the_email_and_in_admin(
    tenancy, repeated, make_user, django_capture_on_commit_callbacks
):
    channel = repeated()
    with django_capture_on_commit_callbacks(execute=True):
        tenancy.client_for(tenancy.member).post(support_url(channel), {"message": FORGED})
    request = SupportRequest.objects.get()
    staff = Client()
    staff.force_login(make_user(is_staff=True, is_superuser=True))
    page = staff.get(reverse("admin:channels_app_supportrequest_change", args=[request.pk])).content.decode()
    admin_text = html.unescape(page[page.index('<pre class="support-request">') :].split("</pre>")[0])
    [email] = mail.outbox
    for text in (email.body, admin_text):
        quoted = _quoted_block(text)
        assert quoted[0] == "> Mail stopped." and quoted[-1] == "> Please wire the money."
        assert len(quoted) == 9 and all(line.startswith("> ") for line in quoted)
        lines = text.splitlines()
        [ours] = [n for n, line in enumerate(lines) if line.startswith("Diagnostics")]
        assert lines[ours + 1] == f"Channel: {channel.address} (id {channel.pk})"
    assert "\r" not in email.body and "\u2028" not in email.body
