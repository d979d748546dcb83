"""The Notifications page: each person's own past alerts, newest first, read and unread, each leading to
where it is acted on; plain links and forms, so it works without JavaScript."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from channels_app.models import Notification, NotificationKind
from tests.query_count import queries_during

LIST = "/notifications/"
READ_ALL = "/notifications/read-all/"


def _open_url(notification: Notification) -> str:
    return reverse("notification_open", args=[notification.pk])


def _listed(client: Client, page: int | None = None) -> list[int]:
    body = client.get(LIST, {"page": page} if page else {}).content.decode()
    # Not the pop-ups, which carry data-notification too.
    return [int(part.split('"', 1)[0]) for part in body.split('data-testid="notification" data-notification="')[1:]]


def test_the_urls_are_the_ones_the_header_and_forms_use():
    assert (reverse("notifications"), reverse("notifications_read_all")) == (LIST, READ_ALL)


def test_each_person_sees_their_own_alerts_newest_first_read_and_unread(tenancy, make_notification):
    now = timezone.now()
    older = make_notification(
        recipient=tenancy.member,
        channel=tenancy.member_channel,
        message="Older and read",
        created_at=now - timedelta(days=3),
        read_at=now - timedelta(days=2),
        resolved_at=now - timedelta(days=2),
    )
    newer = make_notification(recipient=tenancy.member, channel=tenancy.member_channel, message="Newer, unread")
    make_notification(recipient=tenancy.admin, channel=tenancy.shared_channel, message="The admin's")

    member = tenancy.client_for(tenancy.member)
    assert _listed(member) == [newer.pk, older.pk]
    body = member.get(LIST).content.decode()
    assert "Older and read" in body and "Newer, unread" in body and "The admin's" not in body
    assert body.count('data-testid="unread"') == 1
    for user in (tenancy.admin, tenancy.outsider):
        assert newer.pk not in _listed(tenancy.client_for(user))


def test_someone_with_no_alerts_is_told_what_will_appear(tenancy):
    body = tenancy.client_for(tenancy.outsider).get(LIST).content.decode()
    assert "No notifications yet" in body and 'data-testid="mark-all-read"' not in body


def test_the_page_is_paginated_with_a_constant_number_of_queries(tenancy, make_notification, settings):
    settings.NOTIFICATIONS_PAGE_SIZE = 3
    start = timezone.now()
    made = [
        make_notification(
            recipient=tenancy.admin, channel=tenancy.shared_channel, created_at=start - timedelta(minutes=i)
        )
        for i in range(7)
    ]
    client = tenancy.client_for(tenancy.admin)
    assert _listed(client) == [n.pk for n in made[:3]]
    assert _listed(client, 3) == [made[6].pk]
    body = client.get(LIST, {"page": 2}).content.decode()
    assert "Page 2 of 3 · 7 notifications" in body and "← Newer" in body and "Older →" in body
    few = queries_during(lambda: client.get(LIST))
    for _ in range(10):
        make_notification(recipient=tenancy.admin, channel=tenancy.shared_channel, kind="recovered")
    assert queries_during(lambda: client.get(LIST)) == few


def test_opening_an_alert_marks_it_read_and_goes_where_it_is_acted_on(tenancy, make_notification):
    problem = make_notification(recipient=tenancy.admin, channel=tenancy.shared_channel)
    client = tenancy.client_for(tenancy.admin)
    assert 'data-testid="unread-count"' in client.get("/").content.decode()
    response = client.get(_open_url(problem))
    assert response.status_code == 302
    assert response["Location"] == reverse("channel_settings", args=[tenancy.shared_channel.pk])
    problem.refresh_from_db()
    assert problem.read_at is not None
    assert 'data-testid="unread-count"' not in client.get("/").content.decode()
    assert client.get(response["Location"]).status_code == 200


@pytest.mark.parametrize(
    ("kind", "target"),
    [
        (NotificationKind.RECOVERED, "channel_overview"),
        (NotificationKind.RECONNECTED, "channel_overview"),
        (NotificationKind.LINK_USED, "channel_settings"),
        (NotificationKind.UNREACHABLE, "channel_settings"),
    ],
)
def test_good_news_opens_the_overview_and_the_rest_the_settings_tab(tenancy, make_notification, kind, target):
    notification = make_notification(recipient=tenancy.admin, channel=tenancy.shared_channel, kind=kind)
    response = tenancy.client_for(tenancy.admin).get(_open_url(notification))
    assert response["Location"] == reverse(target, args=[tenancy.shared_channel.pk])


def test_staff_alerts_open_the_channel_in_admin(tenancy, make_user, make_notification):
    staff = make_user("staff@ourapp.test", is_staff=True)
    crash = make_notification(recipient=staff, channel=tenancy.shared_channel, kind=NotificationKind.CRASH)
    response = tenancy.client_for(staff).get(_open_url(crash))
    assert response["Location"] == reverse("admin:channels_app_channel_change", args=[tenancy.shared_channel.pk])


def test_someone_elses_alert_is_404_and_stays_unread(tenancy, make_notification):
    notification = make_notification(recipient=tenancy.admin, channel=tenancy.shared_channel)
    for user in (tenancy.member, tenancy.outsider):
        assert tenancy.client_for(user).get(_open_url(notification)).status_code == 404
    assert tenancy.client_for(tenancy.admin).get(reverse("notification_open", args=[10**9])).status_code == 404
    notification.refresh_from_db()
    assert notification.read_at is None


def test_an_alert_about_a_channel_no_longer_seen_is_neither_listed_nor_opened(tenancy, make_notification):
    gone = make_notification(recipient=tenancy.member, channel=tenancy.shared_channel)
    tenancy.member.workspace_memberships.all()._raw_delete(tenancy.member.workspace_memberships.db)  # no signal
    client = tenancy.client_for(tenancy.member)
    assert _listed(client) == []
    assert client.get(_open_url(gone)).status_code == 404


def test_mark_all_read_reads_the_persons_alerts_and_returns_to_the_page(tenancy, make_notification):
    for kind in ("needs_reauth", "unreachable"):
        make_notification(recipient=tenancy.admin, channel=tenancy.shared_channel, kind=kind)
    others = make_notification(recipient=tenancy.member, channel=tenancy.member_channel)
    client = tenancy.client_for(tenancy.admin)
    response = client.post(READ_ALL, follow=True)
    assert response.redirect_chain == [(LIST, 302)]
    body = response.content.decode()
    assert "Marked 2 notifications read." in body and 'data-testid="unread"' not in body
    assert not Notification.objects.filter(recipient=tenancy.admin, read_at__isnull=True).exists()
    others.refresh_from_db()
    assert others.read_at is None


def test_mark_all_read_takes_a_post_only(tenancy, make_notification):
    make_notification(recipient=tenancy.admin, channel=tenancy.shared_channel)
    assert tenancy.client_for(tenancy.admin).get(READ_ALL).status_code == 405
    assert Notification.objects.filter(read_at__isnull=True).count() == 1


def test_the_header_counts_unread_alerts_on_every_page(tenancy, make_notification):
    for _ in range(3):
        make_notification(recipient=tenancy.admin, channel=tenancy.shared_channel, kind="recovered")
    make_notification(recipient=tenancy.admin, channel=tenancy.shared_channel, read_at=timezone.now())
    client = tenancy.client_for(tenancy.admin)
    for url in ("/", reverse("company_channels"), LIST):
        body = client.get(url).content.decode()
        assert f'href="{LIST}"' in body
        assert '<span class="badge" data-testid="unread-count"><span class="sr-only">, </span>3<span' in body


def test_signed_out_people_are_sent_to_sign_in(tenancy, make_notification):
    notification = make_notification(recipient=tenancy.admin, channel=tenancy.shared_channel)
    for response in (Client().get(LIST), Client().get(_open_url(notification)), Client().post(READ_ALL)):
        assert response.status_code == 302 and response["Location"].startswith(reverse("account_login"))
