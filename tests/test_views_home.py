from django.urls import reverse


def test_home_lists_inboxes_each_person_may_see(tenancy):
    admin_body = tenancy.client_for(tenancy.admin).get(reverse("home")).content.decode()
    assert "support@acme.test" in admin_body and "member@acme.test" not in admin_body
    member_body = tenancy.client_for(tenancy.member).get(reverse("home")).content.decode()
    assert "support@acme.test" in member_body and "member@acme.test" in member_body
    outsider_body = tenancy.client_for(tenancy.outsider).get(reverse("home")).content.decode()
    assert "acme.test" not in outsider_body.replace("outsider@globex.test", "")


def test_home_has_gear_icon_to_settings(tenancy):
    body = tenancy.client_for(tenancy.member).get(reverse("home")).content.decode()
    assert f'class="gear" href="{reverse("settings")}"' in body


def test_sign_in_with_email_and_password(client, tenancy):
    from tests.conftest import PASSWORD

    response = client.post(reverse("account_login"), {"login": "member@acme.test", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get(reverse("home")).status_code == 200


def test_sign_up_is_closed(client, db):
    from channels_app.models import User

    assert b"sign up is currently closed" in client.get(reverse("account_signup")).content
    client.post(reverse("account_signup"), {"email": "new@example.test", "password1": "a long new password 1"})
    assert not User.objects.filter(email="new@example.test").exists()
