"""The OAuth callback: who may finish a round trip, and what happens when the world changed meanwhile."""

from django.urls import reverse

from channels_app.models import Channel
from tests.test_provider_recorded import _start_connect


def test_a_shared_channel_never_lands_as_a_personal_inbox_when_its_workspace_vanished(fake, tenancy):
    client = tenancy.client_for(tenancy.admin)
    state = _start_connect(client, "gmail", tenancy.workspace)
    tenancy.workspace.delete()  # deleted while the admin was at Google
    response = client.get(reverse("oauth_callback"), {"code": "code-1", "state": state}, follow=True)
    assert "The workspace this channel was being added to is gone. Nothing was changed." in response.content.decode()
    assert not Channel.objects.filter(inbox__owner=tenancy.admin).exists()
    assert not fake.posts, "no code was exchanged"


def test_a_member_cannot_finish_someone_elses_round_trip(fake, tenancy):
    state = _start_connect(tenancy.client_for(tenancy.admin), "gmail", tenancy.workspace)
    response = tenancy.client_for(tenancy.member).get(reverse("oauth_callback"), {"code": "c", "state": state})
    assert response.status_code == 403 and not fake.posts


def test_an_outsider_cannot_either(fake, tenancy):
    state = _start_connect(tenancy.client_for(tenancy.admin), "gmail", tenancy.workspace)
    response = tenancy.client_for(tenancy.outsider).get(reverse("oauth_callback"), {"code": "c", "state": state})
    assert response.status_code == 403 and not fake.posts
