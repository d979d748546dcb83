import pytest
from django.test import Client
from django.urls import reverse

from channels_app.models import Channel


@pytest.fixture
def staff_client(make_user) -> Client:
    client = Client()
    client.force_login(make_user(is_staff=True, is_superuser=True))
    return client


@pytest.mark.parametrize(
    "model",
    [
        "company",
        "workspace",
        "companymembership",
        "workspacemembership",
        "inbox",
        "channel",
        "channelevent",
        "message",
        "notification",
        "user",
    ],
)
def test_staff_see_every_model_list(staff_client, tenancy, model):
    assert staff_client.get(reverse(f"admin:channels_app_{model}_changelist")).status_code == 200


def test_channel_list_filters_by_status_provider_company_and_searches_address(staff_client, tenancy):
    url = reverse("admin:channels_app_channel_changelist")
    body = staff_client.get(
        url,
        {
            "status__exact": "active",
            "provider__exact": "gmail",
            "inbox__company__id__exact": tenancy.company.pk,
            "q": "support@",
        },
    ).content.decode()
    assert "support@acme.test" in body
    assert "member@acme.test" not in body


def test_channel_change_page_never_shows_credentials(staff_client, tenancy):
    Channel.objects.filter(pk=tenancy.shared_channel.pk).update(credentials_ciphertext="CIPHERTEXT-MARKER")
    body = staff_client.get(reverse("admin:channels_app_channel_change", args=[tenancy.shared_channel.pk]))
    assert body.status_code == 200
    assert "CIPHERTEXT-MARKER" not in body.content.decode()
    assert "credentials" not in body.content.decode().lower()


def test_non_staff_cannot_open_admin(tenancy):
    response = tenancy.client_for(tenancy.admin).get(reverse("admin:channels_app_channel_changelist"))
    assert response.status_code == 302
