"""Personal settings' Time zone page, and the one report a browser makes at first sign-in."""

from datetime import UTC, datetime

import pytest
from django.urls import reverse

from channels_app.models import Channel, User

PAGE = reverse("personal_time_zone")
DETECT = reverse("detect_time_zone")


def _zone(user: User) -> str:
    return User.objects.get(pk=user.pk).time_zone


@pytest.mark.parametrize("who", ["admin", "member", "outsider"])
def test_everyone_chooses_their_own_zone_in_personal_settings(tenancy, who):
    person = getattr(tenancy, who)
    client = tenancy.client_for(person)
    page = client.get(PAGE)
    assert page.status_code == 200
    body = page.content.decode()
    assert '<option value="Europe/Paris">Europe/Paris</option>' in body
    assert "Nobody chose a zone yet" in body and "Times show in <strong>UTC</strong>" in body
    answer = client.post(PAGE, {"time_zone": "America/New_York"}, follow=True)
    assert answer.redirect_chain == [(PAGE, 302)]
    assert "Times now show in America/New York." in answer.content.decode()
    assert "Times show in <strong>America/New York</strong>" in answer.content.decode()
    assert _zone(person) == "America/New_York"
    others = [u for u in (tenancy.admin, tenancy.member, tenancy.outsider) if u != person]
    assert [_zone(u) for u in others] == ["", ""]


def test_a_zone_we_do_not_offer_is_refused_with_the_form_again(tenancy):
    client = tenancy.client_for(tenancy.member)
    answer = client.post(PAGE, {"time_zone": "US/Eastern"})
    assert answer.status_code == 200
    assert "Select a valid choice" in answer.content.decode()
    assert _zone(tenancy.member) == ""


def test_signed_out_people_are_sent_to_sign_in(client, db):
    for url in (PAGE, DETECT):
        answer = client.post(url, {"time_zone": "Asia/Tokyo"})
        assert answer.status_code == 302 and answer["Location"].startswith(reverse("account_login"))


def test_the_browsers_report_is_kept_once_and_a_later_one_changes_nothing(tenancy):
    client = tenancy.client_for(tenancy.member)
    assert client.post(DETECT, {"time_zone": "Asia/Tokyo"}).status_code == 204
    assert client.post(DETECT, {"time_zone": "Europe/Paris"}).status_code == 204
    assert _zone(tenancy.member) == "Asia/Tokyo"


def test_the_browsers_report_does_not_undo_a_zone_the_person_chose(tenancy):
    client = tenancy.client_for(tenancy.member)
    client.post(PAGE, {"time_zone": "Europe/Lisbon"})
    client.post(DETECT, {"time_zone": "Asia/Tokyo"})
    assert _zone(tenancy.member) == "Europe/Lisbon"


def test_an_unknown_zone_from_a_browser_is_refused_and_the_default_stays(tenancy):
    client = tenancy.client_for(tenancy.member)
    answer = client.post(DETECT, {"time_zone": "Etc/Unknown"})
    assert answer.status_code == 400 and answer["Content-Type"].startswith("text/plain")
    assert client.get(DETECT).status_code == 405
    assert _zone(tenancy.member) == ""


def test_pages_carry_the_report_form_and_its_script_only_while_the_person_has_no_zone(tenancy):
    client = tenancy.client_for(tenancy.member)
    body = client.get(reverse("home")).content.decode()
    assert f'id="time-zone-detect" method="post" action="{DETECT}" hidden' in body
    assert "js/time_zone.js" in body and "<script>" not in body
    client.post(DETECT, {"time_zone": "Asia/Tokyo"})
    body = client.get(reverse("home")).content.decode()
    assert "time-zone-detect" not in body and "js/time_zone.js" not in body


def test_a_channels_times_show_in_the_persons_zone_with_the_zone_named(tenancy):
    channel = tenancy.shared_channel
    Channel.objects.filter(pk=channel.pk).update(status_since=datetime(2024, 12, 31, 20, 0, tzinfo=UTC))
    client = tenancy.client_for(tenancy.admin)
    body = client.get(reverse("channel_overview", args=[channel.pk])).content.decode()
    assert "Dec 31, 2024, 20:00</time>" in body and "Times in UTC" in body
    client.post(PAGE, {"time_zone": "Asia/Tokyo"})
    body = client.get(reverse("channel_overview", args=[channel.pk])).content.decode()
    assert "Jan 1, 2025, 05:00</time>" in body and "Times in Asia/Tokyo" in body
