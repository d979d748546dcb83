from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from channels_app.models import ChannelStatus, Inbox, InboxKind
from tests.query_count import queries_during


def _card(body: str, inbox_id: int) -> str:
    return body.split(f'data-inbox="{inbox_id}"', 1)[1].split("</li>", 1)[0]


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


def test_each_card_leads_to_its_channel_with_a_summary_of_its_state(tenancy):
    channel = tenancy.shared_channel
    channel.last_synced_at = timezone.now() - timedelta(minutes=5)
    channel.save()
    for user in (tenancy.admin, tenancy.member):
        card = _card(tenancy.client_for(user).get("/").content.decode(), channel.inbox_id)
        overview = reverse("channel_overview", args=[channel.pk])
        assert f'<a class="card-title" href="{overview}">Support</a>' in card
        assert "Mail is coming in; last sync" in card and "5\xa0minutes ago" in card
        assert "Open the channel →" in card


def test_a_broken_channels_card_sends_whoever_can_fix_it_to_reauthorize_and_tells_the_others_who_can(tenancy):
    channel = tenancy.shared_channel
    channel.status, channel.status_since = ChannelStatus.NEEDS_REAUTH, timezone.now() - timedelta(hours=2)
    channel.save()
    admin_card = _card(tenancy.client_for(tenancy.admin).get("/").content.decode(), channel.inbox_id)
    assert "card-warning" in tenancy.client_for(tenancy.admin).get("/").content.decode()
    assert (
        f'href="{reverse("channel_settings", args=[channel.pk])}" data-testid="card-action">Reauthorize →' in admin_card
    )
    assert "No new mail since it lost access" in admin_card and "reauthorize it to catch up" in admin_card
    member_card = _card(tenancy.client_for(tenancy.member).get("/").content.decode(), channel.inbox_id)
    assert f'href="{reverse("channel_overview", args=[channel.pk])}" data-testid="card-action">Open' in member_card
    assert "an admin of this inbox must reauthorize it" in member_card


def test_an_inbox_without_a_channel_leads_to_its_spaces_channels(tenancy):
    inbox = Inbox.objects.create(
        company=tenancy.company, kind=InboxKind.SHARED, workspace=tenancy.workspace, name="Sales"
    )
    card = _card(tenancy.client_for(tenancy.member).get("/").content.decode(), inbox.pk)
    url = reverse("workspace_channels", args=[tenancy.workspace.pk])
    assert f'href="{url}" data-testid="card-action">Channels · Support →' in card
    assert "No mail account is connected to this inbox." in card
    assert tenancy.client_for(tenancy.member).get(url).status_code == 200
    assert f'data-inbox="{inbox.pk}"' not in tenancy.client_for(tenancy.outsider).get("/").content.decode()


def test_the_home_page_takes_as_many_queries_for_many_inboxes_as_for_one(tenancy, make_inbox, make_channel):
    client = tenancy.client_for(tenancy.member)
    few = queries_during(lambda: client.get("/"))
    for _ in range(10):
        make_channel(inbox=make_inbox(workspace=tenancy.workspace))
    assert queries_during(lambda: client.get("/")) == few
