from django.test import Client
from django.urls import reverse
from django.utils import timezone

from channels_app.models import Notification, NotificationKind
from tests.query_count import queries_during

POPUP = "/notifications/popup/"
FETCH = {"HTTP_X_REQUESTED_WITH": "fetch"}
TEXT = "The channel support@acme.test needs to be reauthorized."


def _alert(tenancy, make_notification, **fields):
    fields.setdefault("recipient", tenancy.admin)
    fields.setdefault("channel", tenancy.shared_channel)
    return make_notification(message=TEXT, **fields)


def test_the_popup_url_is_the_one_the_page_polls():
    assert reverse("alerts_popup") == POPUP


def test_the_fragment_lists_an_open_problem_for_its_recipient_only(tenancy, make_notification):
    _alert(tenancy, make_notification)
    assert TEXT in tenancy.client_for(tenancy.admin).get(POPUP).content.decode()
    # The member can see the shared channel but cannot fix it, so is not its recipient.
    for user in (tenancy.member, tenancy.outsider):
        response = tenancy.client_for(user).get(POPUP)
        assert response.status_code == 200
        assert 'data-testid="alert"' not in response.content.decode()


def test_an_individual_inbox_owner_sees_their_own_alert(tenancy, make_notification):
    make_notification(recipient=tenancy.member, channel=tenancy.member_channel, message="Yours needs you.")
    assert "Yours needs you." in tenancy.client_for(tenancy.member).get(POPUP).content.decode()
    assert "Yours needs you." not in tenancy.client_for(tenancy.admin).get(POPUP).content.decode()


def test_resolved_problems_and_good_news_do_not_pop_up(tenancy, make_notification):
    _alert(tenancy, make_notification, resolved_at=timezone.now())
    make_notification(recipient=tenancy.admin, channel=tenancy.shared_channel, kind=NotificationKind.RECOVERED)
    make_notification(recipient=tenancy.admin, channel=tenancy.shared_channel, kind=NotificationKind.RECONNECTED)
    body = tenancy.client_for(tenancy.admin).get(POPUP).content.decode()
    assert 'data-testid="alert"' not in body


def test_unreachable_and_configuration_problems_pop_up_too(tenancy, make_notification):
    make_notification(recipient=tenancy.admin, channel=tenancy.shared_channel, kind="unreachable", message="Down.")
    make_notification(recipient=tenancy.admin, channel=tenancy.shared_channel, kind="configuration", message="Cfg.")
    body = tenancy.client_for(tenancy.admin).get(POPUP).content.decode()
    assert "Down." in body and "Cfg." in body


def test_view_settings_opens_the_channels_settings_tab(tenancy, make_notification):
    _alert(tenancy, make_notification)
    body = tenancy.client_for(tenancy.admin).get(POPUP).content.decode()
    settings_url = reverse("channel_settings", args=[tenancy.shared_channel.pk])
    assert f'href="{settings_url}" data-testid="view-settings">View settings</a>' in body
    landing = tenancy.client_for(tenancy.admin).get(settings_url).content.decode()
    assert 'data-testid="reauthorize"' in landing


def test_the_fragment_is_never_cached(tenancy):
    response = tenancy.client_for(tenancy.admin).get(POPUP)
    assert "no-cache" in response["Cache-Control"]


def test_signed_out_polling_gets_no_fragment():
    response = Client().get(POPUP)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_dismiss_hides_the_alert_for_this_session_only(tenancy, make_notification):
    notification = _alert(tenancy, make_notification)
    client = tenancy.client_for(tenancy.admin)
    response = client.post(reverse("dismiss_alert", args=[notification.pk]), {"next": "/settings/"})
    assert response.status_code == 302
    assert response["Location"] == "/settings/"
    assert TEXT not in client.get(POPUP).content.decode()
    assert client.session["dismissed_notifications"] == [notification.pk]
    # The problem lasts: another sign-in (a new session) shows it again.
    assert TEXT in tenancy.client_for(tenancy.admin).get(POPUP).content.decode()
    notification.refresh_from_db()
    assert notification.read_at is not None
    assert notification.resolved_at is None


def test_dismiss_keeps_the_first_read_time(tenancy, make_notification):
    first_read = timezone.now() - timezone.timedelta(days=1)
    notification = _alert(tenancy, make_notification, read_at=first_read)
    tenancy.client_for(tenancy.admin).post(reverse("dismiss_alert", args=[notification.pk]))
    notification.refresh_from_db()
    assert notification.read_at == first_read


def test_dismiss_from_the_script_returns_the_refreshed_fragment(tenancy, make_notification):
    dismissed = _alert(tenancy, make_notification)
    kept = make_notification(
        recipient=tenancy.admin, channel=tenancy.shared_channel, kind="unreachable", message="Kept"
    )
    response = tenancy.client_for(tenancy.admin).post(reverse("dismiss_alert", args=[dismissed.pk]), **FETCH)
    assert response.status_code == 200
    body = response.content.decode()
    assert TEXT not in body
    assert f'data-key="{kept.pk}"' in body


def test_dismiss_never_redirects_off_site(tenancy, make_notification):
    notification = _alert(tenancy, make_notification)
    response = tenancy.client_for(tenancy.admin).post(
        reverse("dismiss_alert", args=[notification.pk]), {"next": "https://evil.example/"}
    )
    assert response["Location"] == "/"


def test_dismissing_someone_elses_alert_is_404_and_changes_nothing(tenancy, make_notification):
    notification = _alert(tenancy, make_notification)
    url = reverse("dismiss_alert", args=[notification.pk])
    for user in (tenancy.member, tenancy.outsider):
        client = tenancy.client_for(user)
        assert client.post(url).status_code == 404
        assert "dismissed_notifications" not in client.session
    notification.refresh_from_db()
    assert notification.read_at is None
    assert TEXT in tenancy.client_for(tenancy.admin).get(POPUP).content.decode()


def test_dismissing_a_missing_alert_is_404(tenancy):
    assert tenancy.client_for(tenancy.admin).post(reverse("dismiss_alert", args=[999_999])).status_code == 404


def test_dismiss_needs_post(tenancy, make_notification):
    notification = _alert(tenancy, make_notification)
    assert tenancy.client_for(tenancy.admin).get(reverse("dismiss_alert", args=[notification.pk])).status_code == 405


def test_dismiss_needs_a_csrf_token(tenancy, make_notification):
    notification = _alert(tenancy, make_notification)
    client = Client(enforce_csrf_checks=True)
    client.force_login(tenancy.admin)
    assert client.post(reverse("dismiss_alert", args=[notification.pk])).status_code == 403


def test_every_page_renders_the_alerts_container_with_the_first_fragment(tenancy, make_notification):
    _alert(tenancy, make_notification)
    body = tenancy.client_for(tenancy.admin).get(reverse("settings"), follow=True).content.decode()
    assert f'<div id="alerts" class="alerts" data-src="{POPUP}"' in body
    assert 'aria-live="polite"' in body
    assert TEXT in body
    assert "js/alerts.js" in body
    # Without JavaScript, Dismiss comes back to the page it was pressed on.
    assert 'name="next" value="/settings/' in body


def test_the_container_is_there_without_alerts_for_members_too(tenancy):
    body = tenancy.client_for(tenancy.member).get(reverse("home")).content.decode()
    assert 'id="alerts"' in body
    assert 'data-testid="alert"' not in body


def test_anonymous_pages_have_no_alerts_container():
    body = Client().get(reverse("account_login")).content.decode()
    assert 'id="alerts"' not in body
    assert "alerts.js" not in body


def _popup_queries(client):
    return queries_during(lambda: client.get(POPUP))


def test_the_fragment_costs_the_same_queries_for_one_or_five_alerts(
    tenancy, make_notification, make_inbox, make_channel
):
    client = tenancy.client_for(tenancy.admin)
    _alert(tenancy, make_notification)
    one = _popup_queries(client)
    for _ in range(4):
        channel = make_channel(inbox=make_inbox(workspace=tenancy.workspace))
        make_notification(recipient=tenancy.admin, channel=channel, message=f"{channel.address} needs you.")
    five = _popup_queries(client)
    assert Notification.objects.filter(recipient=tenancy.admin).count() == 5
    assert client.get(POPUP).content.decode().count('data-testid="alert"') == 5
    assert one == five
    # Session, user, the person's company (what they may see), the notifications with their channels.
    assert 0 < five <= 4
