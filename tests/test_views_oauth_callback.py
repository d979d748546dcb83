"""The OAuth callback: who may finish a round trip, and what happens when the world changed meanwhile."""

from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from channels_app.models import Channel
from tests.test_provider_identity import _token
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


@pytest.mark.parametrize(("chosen", "days"), [("7", 7), ("", 30), ("0", None)])
def test_an_oauth_channel_imports_the_days_chosen_on_add_channel(fake, tenancy, settings, chosen, days):
    settings.FIRST_IMPORT_DAYS = 30
    claims = {"iss": "https://issuer.test", "aud": "test-client", "sub": "1", "email_verified": True}
    fake.answer = _token(fake, "https://mail.google.com/ openid email", email="new@gmail.test", **claims)
    client = tenancy.client_for(tenancy.admin)
    form = {"provider": "gmail", "workspace": tenancy.workspace.pk, "import_days": chosen}
    state = parse_qs(urlparse(client.post(reverse("company:add_channel"), form)["Location"]).query)["state"][0]
    before = timezone.now()
    response = client.get(reverse("oauth_callback"), {"code": "code-1", "state": state})
    after = timezone.now()
    since = Channel.objects.get(address="new@gmail.test").import_since
    if days is None:
        assert since is None, "everything"
    else:
        assert before - timedelta(days=days) <= since <= after - timedelta(days=days)
    # The person is told how far back the import reaches, and that older mail stays at the provider.
    [said] = [str(message) for message in get_messages(response.wsgi_request)]
    assert said.startswith("Connected new@gmail.test. Its first import brings in ")
    if days is None:
        assert said.endswith("all mail in the mailbox.")
    else:
        when = date_format(timezone.localtime(since), "M j, Y")
        assert f"mail that arrived since {when} ({days} days before connecting); older mail stays" in said
