"""Personal settings → Notifications: which alerts also come by email, each person for themselves."""

from django.test import Client
from django.urls import reverse

from channels_app.models import AlertCategory
from channels_app.selectors import alert_email_opt_outs

URL = "/settings/personal/notifications/"


def _ticked(body: str) -> set[str]:
    return {
        part.split('"', 1)[0] for part in body.split('type="checkbox" name="')[1:] if "checked" in part.split(">", 1)[0]
    }


def test_the_url_is_in_personal_settings():
    assert reverse("alert_preferences") == URL


def test_everyone_starts_with_every_email_on_and_sees_the_categories_they_may_be_sent(tenancy, make_user):
    for user in (tenancy.admin, tenancy.member, tenancy.outsider):
        response = tenancy.client_for(user).get(URL)
        assert response.status_code == 200
        body = response.content.decode()
        assert _ticked(body) == {"sign_in", "stopped", "back", "links"}
        assert user.email in body and "Reauthorization needed" in body and "For staff" not in body
    staff_body = tenancy.client_for(make_user(is_staff=True)).get(URL).content.decode()
    assert "staff" in _ticked(staff_body) and "Only staff are sent these." in staff_body


def test_the_sidebar_shows_the_page_under_personal_settings(tenancy):
    body = tenancy.client_for(tenancy.member).get(URL).content.decode()
    assert f'<a href="{URL}" class="current" aria-current="page">Notifications</a>' in body


def test_saving_changes_the_persons_own_choice_only_and_shows_it(tenancy):
    client = tenancy.client_for(tenancy.member)
    response = client.post(URL, {"sign_in": "on", "links": "on"}, follow=True)
    assert response.redirect_chain == [(URL, 302)]
    body = response.content.decode()
    assert "Saved." in body
    assert _ticked(body) == {"sign_in", "links"}
    assert alert_email_opt_outs(tenancy.member) == {AlertCategory.STOPPED, AlertCategory.BACK}
    for user in (tenancy.admin, tenancy.outsider):
        assert alert_email_opt_outs(user) == set()
        assert _ticked(tenancy.client_for(user).get(URL).content.decode()) == {"sign_in", "stopped", "back", "links"}


def test_a_staff_category_posted_by_someone_not_on_staff_is_ignored(tenancy):
    tenancy.client_for(tenancy.member).post(URL, {"staff": "on"})
    assert AlertCategory.STAFF not in alert_email_opt_outs(tenancy.member)
    assert alert_email_opt_outs(tenancy.member) == {
        AlertCategory.SIGN_IN,
        AlertCategory.STOPPED,
        AlertCategory.BACK,
        AlertCategory.LINKS,
    }


def test_signed_out_people_are_sent_to_sign_in(db):
    for response in (Client().get(URL), Client().post(URL, {})):
        assert response.status_code == 302 and response["Location"].startswith(reverse("account_login"))
