import pytest
from django.test import Client
from django.urls import reverse

from channels_app.models import Channel, ReauthorizationLink
from channels_app.services.parsing import EARLIEST_DATE, LATEST_DATE
from channels_app.services.reauth_links import link_send


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
        "reauthorizationlink",
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


def test_channel_list_filters_by_reason(staff_client, tenancy):
    Channel.objects.filter(pk=tenancy.shared_channel.pk).update(status="needs_reauth", reason_code="disuse")
    url = reverse("admin:channels_app_channel_changelist")
    body = staff_client.get(url, {"reason_code__exact": "disuse"}).content.decode()
    assert "support@acme.test" in body and "member@acme.test" not in body


def test_mark_for_reauthorization_action_alerts_the_admins(staff_client, tenancy):
    url = reverse("admin:channels_app_channel_changelist")
    response = staff_client.post(
        url, {"action": "mark_for_reauthorization", "_selected_action": [tenancy.shared_channel.pk]}
    )
    assert response.status_code == 302
    channel = Channel.objects.get(pk=tenancy.shared_channel.pk)
    assert channel.status == "needs_reauth"
    assert list(channel.notifications.values_list("recipient", flat=True)) == [tenancy.admin.pk]
    assert channel.events.first().cause.startswith("staff action")
    assert channel.reason_code == "staff_request"
    assert channel.status_reason == "Our support team asked for this channel to be reauthorized."
    alert = channel.notifications.get()
    assert alert.message.endswith("Our support team asked for this channel to be reauthorized.")
    assert "revoked" not in alert.message + alert.email_body


def test_staff_see_the_provider_code_and_find_channels_with_an_unrecognised_answer(
    staff_client, tenancy, make_event, make_notification
):
    Channel.objects.filter(pk=tenancy.shared_channel.pk).update(last_error_code="AADSTS9999901")
    make_event(channel=tenancy.shared_channel, to_status="blocked", provider_code="AADSTS53003")
    make_notification(recipient=tenancy.admin, channel=tenancy.shared_channel, kind="unrecognised")
    url = reverse("admin:channels_app_channel_changelist")
    body = staff_client.get(url, {"answer": "unrecognised"}).content.decode()
    assert "support@acme.test" in body and "AADSTS9999901" in body and "member@acme.test" not in body
    change = staff_client.get(reverse("admin:channels_app_channel_change", args=[tenancy.shared_channel.pk]))
    assert "AADSTS53003" in change.content.decode()


@pytest.mark.local_provider
@pytest.mark.parametrize("action", ["probe_now", "sync_now"])
def test_probe_and_sync_now_actions_run_and_report(staff_client, tenancy, make_mailbox, connect_local, action):
    connect_local(tenancy.shared_channel, make_mailbox())
    url = reverse("admin:channels_app_channel_changelist")
    response = staff_client.post(url, {"action": action, "_selected_action": [tenancy.shared_channel.pk]}, follow=True)
    assert ": ok — " in response.content.decode()


def test_support_requests_are_listed_for_staff(staff_client, tenancy):
    from channels_app.models import SupportRequest

    SupportRequest.objects.create(
        channel=tenancy.shared_channel, requester=tenancy.admin, message="Keeps failing", diagnostics="provider: gmail"
    )
    body = staff_client.get(reverse("admin:channels_app_supportrequest_changelist")).content.decode()
    assert "support@acme.test" in body


@pytest.mark.parametrize("zone", ["Pacific/Kiritimati", "Etc/GMT+12"])
def test_message_list_and_page_show_dates_at_the_edges_in_any_time_zone(
    staff_client, tenancy, make_message, settings, zone
):
    settings.TIME_ZONE = zone
    messages = [
        make_message(channel=tenancy.shared_channel, subject=subject, date=date)
        for subject, date in (("latest", LATEST_DATE), ("earliest", EARLIEST_DATE), ("undated", None))
    ]
    listing = staff_client.get(reverse("admin:channels_app_message_changelist"))
    assert listing.status_code == 200
    body = listing.content.decode()
    assert body.index("latest") < body.index("earliest") and "undated" in body
    for message in messages:
        assert staff_client.get(reverse("admin:channels_app_message_change", args=[message.pk])).status_code == 200


def test_messages_are_shown_read_only_with_control_characters_as_their_pictures(staff_client, tenancy, make_message):
    message = make_message(
        channel=tenancy.shared_channel, subject="bell\x07", from_address="a\x1b@x.test", to_addresses="b\x0c@x.test"
    )
    listing = staff_client.get(reverse("admin:channels_app_message_changelist")).content.decode()
    assert "bell\u2407" in listing and "a\u241b@x.test" in listing
    page = staff_client.get(reverse("admin:channels_app_message_change", args=[message.pk])).content.decode()
    assert "bell\u2407" in page and "a\u241b@x.test" in page and "b\u240c@x.test" in page
    assert not any(chr(code) in page + listing for code in (0x07, 0x0C, 0x1B))
    assert 'name="subject"' not in page
    assert staff_client.post(reverse("admin:channels_app_message_change", args=[message.pk]), {}).status_code == 403


def test_staff_find_the_notifications_whose_email_did_not_go_out(staff_client, tenancy, make_notification):
    make_notification(recipient=tenancy.admin, channel=tenancy.shared_channel, email_state="sent")
    unsent = make_notification(
        recipient=tenancy.member,
        channel=tenancy.member_channel,
        email_state="gave_up",
        email_last_error="SMTPServerDisconnected: Connection unexpectedly closed",
    )
    url = reverse("admin:channels_app_notification_changelist")
    response = staff_client.get(url, {"email_state__exact": "gave_up"})
    assert list(response.context["cl"].result_list) == [unsent]
    assert "Not sent: gave up after a day" in response.content.decode()
    change = staff_client.get(reverse("admin:channels_app_notification_change", args=[unsent.pk])).content.decode()
    assert "SMTPServerDisconnected: Connection unexpectedly closed" in change


def test_staff_list_links_without_their_secret_and_withdraw_them(staff_client, tenancy):
    sent = link_send(channel=tenancy.shared_channel, sender=tenancy.admin, sent_to="it@acme.test")
    listing = staff_client.get(reverse("admin:channels_app_reauthorizationlink_changelist")).content.decode()
    assert "it@acme.test" in listing and "Open" in listing
    page = staff_client.get(reverse("admin:channels_app_reauthorizationlink_change", args=[sent.link.pk]))
    assert sent.link.nonce_digest not in page.content.decode()
    url = reverse("admin:channels_app_reauthorizationlink_changelist")
    assert staff_client.post(url, {"action": "withdraw", "_selected_action": [sent.link.pk]}).status_code == 302
    assert ReauthorizationLink.objects.get().withdrawn_at is not None
