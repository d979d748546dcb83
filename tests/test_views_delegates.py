"""The pages of a Microsoft 365 shared mailbox opened through a delegate: Add channel's "a shared mailbox I have
access to", the callback's refusal, the Settings tab, Reauthorize's sign-in hint, and Django admin.

Round trips go through the real local provider, whose `microsoft` persona opens shared mailboxes for delegates.
"""

from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from channels_app.models import Channel
from localprovider import control
from tests.provider_fixtures import Mailbox, oauth_round_trip

pytestmark = pytest.mark.local_provider


@pytest.fixture
def shared(make_mailbox: Callable[..., Mailbox], local_provider: control.Instance) -> tuple[Mailbox, Mailbox]:
    """A shared mailbox and its delegate."""
    mailbox, dana = make_mailbox("shared-billing", persona="microsoft"), make_mailbox("dana", persona="microsoft")
    control.set_delegate(local_provider, mailbox.address, dana.address)
    return mailbox, dana


def _add(tenancy, shared_address: str, provider: str = "microsoft") -> dict[str, object]:
    return {"provider": provider, "shared_address": shared_address, "inbox_name": "Billing"}


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_add_channel_offers_a_shared_mailbox_for_microsoft_only(tenancy):
    admin = tenancy.client_for(tenancy.admin)
    url = reverse("workspace:add_channel", args=[tenancy.workspace.pk])
    page = admin.get(url).content.decode()
    assert "A shared mailbox I have access to" in page and "(Microsoft 365 only.)" in page
    refused = admin.post(url, _add(tenancy, "billing@acme.test", provider="local"))
    assert refused.status_code == 200
    assert (
        "Local mail has no shared mailboxes opened through a delegate: choose Microsoft 365" in refused.content.decode()
    )


def test_only_who_may_add_channels_there_can_start_a_shared_mailbox(tenancy):
    url = reverse("workspace:add_channel", args=[tenancy.workspace.pk])
    assert tenancy.client_for(tenancy.member).post(url, _add(tenancy, "billing@acme.test")).status_code == 403
    assert tenancy.client_for(tenancy.outsider).post(url, _add(tenancy, "billing@acme.test")).status_code == 404
    started = tenancy.client_for(tenancy.admin).post(url, _add(tenancy, "billing@acme.test"))
    assert started.status_code == 302
    assert parse_qs(urlsplit(started["Location"]).query).get("login_hint") is None  # the delegate signs in


def test_a_delegate_connects_it_and_the_settings_tab_says_through_whom(tenancy, shared):
    mailbox, dana = shared
    url = reverse("workspace:add_channel", args=[tenancy.workspace.pk])
    response = oauth_round_trip(tenancy.client_for(tenancy.admin), url, dana, data=_add(tenancy, mailbox.address))
    channel = Channel.objects.get(address=mailbox.address)
    assert response["Location"] == reverse("channel_overview", args=[channel.pk])
    settings_url = reverse("channel_settings", args=[channel.pk])
    for viewer in (tenancy.admin, tenancy.member):  # the member of the workspace sees it, cannot change it
        page = tenancy.client_for(viewer).get(settings_url).content.decode()
        assert f"Opened through delegate {dana.address}" in page
    assert tenancy.client_for(tenancy.outsider).get(settings_url).status_code == 404


def test_someone_without_access_is_told_and_nothing_is_connected(tenancy, shared, make_mailbox):
    mailbox, _ = shared
    jo = make_mailbox("jo", persona="microsoft")
    url = reverse("workspace:add_channel", args=[tenancy.workspace.pk])
    response = oauth_round_trip(tenancy.client_for(tenancy.admin), url, jo, data=_add(tenancy, mailbox.address))
    text = _messages(response)[0]
    assert f"You signed in as {jo.address}, who cannot open the shared mailbox {mailbox.address}" in text
    assert not Channel.objects.filter(address=mailbox.address).exists()


def test_reauthorize_suggests_the_delegate_and_only_managers_may_start_it(tenancy, make_channel, make_inbox):
    channel = make_channel(
        inbox=make_inbox(workspace=tenancy.workspace),
        provider="microsoft",
        address="billing@acme.test",
        delegate_address="dana@acme.test",
    )
    url = reverse("channel_reauthorize", args=[channel.pk])
    started = tenancy.client_for(tenancy.admin).post(url)
    assert parse_qs(urlsplit(started["Location"]).query)["login_hint"] == ["dana@acme.test"]
    assert tenancy.client_for(tenancy.member).post(url).status_code == 403
    assert tenancy.client_for(tenancy.outsider).post(url).status_code == 404


def test_django_admin_lists_and_searches_the_delegate(tenancy, make_channel, make_inbox, make_user):
    make_channel(
        inbox=make_inbox(workspace=tenancy.workspace), address="billing@acme.test", delegate_address="dana@acme.test"
    )
    staff = Client()
    staff.force_login(make_user(is_staff=True, is_superuser=True))
    body = staff.get(reverse("admin:channels_app_channel_changelist"), {"q": "dana@"}).content.decode()
    assert "billing@acme.test" in body and "Opened through delegate" in body
