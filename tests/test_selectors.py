from datetime import timedelta

import pytest
from django.utils import timezone

from channels_app.models import (
    CATEGORY_KINDS,
    AlertCategory,
    AlertEmailOptOut,
    ChannelStatus,
    Inbox,
    InboxKind,
    NotificationKind,
    Role,
)
from channels_app.providers import Credentials
from channels_app.selectors import (
    alert_categories_for,
    alert_email_wanted,
    channel_diagnostics,
    channel_incidents,
    inbox_cards,
    notification_history,
    popup_alerts,
    reauth_incidents_count,
    unread_notifications_count,
)
from channels_app.services.credentials import channel_store_credentials


def ago(**delta):
    return timezone.now() - timedelta(**delta)


def test_an_incident_ends_at_the_next_event_back_to_active_and_says_who_ended_it(tenancy, make_event):
    channel = tenancy.shared_channel
    start = make_event(channel=channel, from_status="active", reason="Access was revoked.", created_at=ago(days=3))
    end = make_event(
        channel=channel, from_status="needs_reauth", to_status="active", actor=tenancy.admin, created_at=ago(days=2)
    )
    [incident] = channel_incidents(channel)
    assert (incident.started, incident.ended, incident.ongoing) == (start, end, False)
    assert incident.ended.caused_by == str(tenancy.admin)


def test_an_incident_without_a_way_back_is_ongoing_and_listed_first(tenancy, make_event):
    channel = tenancy.shared_channel
    make_event(channel=channel, created_at=ago(days=5))
    make_event(channel=channel, to_status="active", cause="probe task", created_at=ago(days=4))
    latest = make_event(channel=channel, to_status="unreachable", reason="Timed out", created_at=ago(hours=1))
    incidents = channel_incidents(channel)
    assert [i.started for i in incidents][0] == latest
    assert incidents[0].ongoing
    assert incidents[1].ended.caused_by == "probe task"


def test_unreachable_then_needs_reauth_are_two_incidents_ended_by_the_same_recovery(tenancy, make_event):
    channel = tenancy.shared_channel
    make_event(channel=channel, from_status="active", to_status="unreachable", created_at=ago(days=3))
    make_event(channel=channel, from_status="unreachable", to_status="needs_reauth", created_at=ago(days=2))
    back = make_event(channel=channel, from_status="needs_reauth", to_status="active", created_at=ago(days=1))
    incidents = channel_incidents(channel)
    assert [i.started.to_status for i in incidents] == ["needs_reauth", "unreachable"]
    assert all(i.ended == back and not i.ended_by_disconnect for i in incidents)


def test_a_disconnect_ends_the_incidents_going_on_and_a_reconnect_recovers_none(tenancy, make_event):
    channel = tenancy.shared_channel
    make_event(channel=channel, from_status="active", to_status="unreachable", created_at=ago(days=3))
    make_event(channel=channel, from_status="unreachable", to_status="needs_reauth", created_at=ago(days=2))
    gone = make_event(channel=channel, from_status="needs_reauth", to_status="disconnected", created_at=ago(days=1))
    make_event(channel=channel, from_status="disconnected", to_status="active", created_at=ago(hours=1))
    incidents = channel_incidents(channel)
    assert [(i.ended, i.ended_by_disconnect) for i in incidents] == [(gone, True), (gone, True)]
    assert "ended by a disconnect" in channel_diagnostics(channel, incidents)


def test_statuses_that_are_not_trouble_are_not_incidents(tenancy, make_event):
    channel = tenancy.shared_channel
    make_event(channel=channel, from_status="active", to_status="disconnected")
    make_event(channel=channel, from_status="disconnected", to_status="active")
    assert channel_incidents(channel) == []


def test_a_repeat_of_the_same_status_is_the_same_incident(tenancy, make_event):
    channel = tenancy.shared_channel
    make_event(channel=channel, from_status="active", created_at=ago(days=2))
    make_event(channel=channel, from_status="needs_reauth", to_status="needs_reauth", created_at=ago(days=1))
    assert len(channel_incidents(channel)) == 1
    assert reauth_incidents_count(channel) == 1


def test_since_leaves_out_older_incidents(tenancy, make_event):
    channel = tenancy.shared_channel
    make_event(channel=channel, created_at=ago(days=40))
    recent = make_event(channel=channel, created_at=ago(days=1))
    assert [i.started for i in channel_incidents(channel, since=ago(days=30))] == [recent]


def test_reauth_count_counts_needs_reauth_in_the_window_only(tenancy, make_event):
    channel = tenancy.shared_channel
    for days in (1, 10, 29):
        make_event(channel=channel, from_status="active", created_at=ago(days=days))
    make_event(channel=channel, from_status="active", created_at=ago(days=31))
    make_event(channel=channel, from_status="active", to_status="unreachable", created_at=ago(days=2))
    make_event(channel=tenancy.member_channel, from_status="active", created_at=ago(days=2))
    assert reauth_incidents_count(channel) == 3
    assert reauth_incidents_count(channel, days=5) == 1


def test_the_window_comes_from_settings(tenancy, make_event, settings):
    settings.REPEATED_REAUTH_DAYS = 7
    make_event(channel=tenancy.shared_channel, created_at=ago(days=10))
    assert reauth_incidents_count(tenancy.shared_channel) == 0


def test_diagnostics_describe_the_channel_and_its_incidents(tenancy, make_event):
    channel = tenancy.shared_channel
    make_event(channel=channel, from_status="active", reason="Access was revoked.", cause="sync task")
    make_event(channel=channel, from_status="needs_reauth", to_status="active", actor=tenancy.admin)
    text = channel_diagnostics(channel)
    for expected in ("support@acme.test", "Gmail", "Active", "Shared inbox", "Access was revoked.", "sync task"):
        assert expected in text
    assert "back to active" in text and str(tenancy.admin) in text
    assert "UTC" in text


@pytest.mark.parametrize("provider", ["gmail", "imap"])
def test_diagnostics_never_contain_credentials(tenancy, make_event, provider):
    channel = tenancy.shared_channel
    channel.provider = provider
    channel.save(update_fields=["provider"])
    channel_store_credentials(
        channel=channel,
        credentials=Credentials(access_token="AT-secret", refresh_token="RT-secret", password="PW-secret"),
    )
    channel.refresh_from_db()
    make_event(channel=channel, from_status="active", reason="Access was revoked.")
    text = channel_diagnostics(channel)
    assert channel.credentials_ciphertext
    for secret in ("AT-secret", "RT-secret", "PW-secret", channel.credentials_ciphertext):
        assert secret not in text


def test_popup_alerts_leave_out_the_dismissed_ones(tenancy, make_notification):
    shown = make_notification(recipient=tenancy.admin, channel=tenancy.shared_channel)
    hidden = make_notification(recipient=tenancy.admin, channel=tenancy.shared_channel, kind="unreachable")
    assert popup_alerts(tenancy.admin, hide={hidden.pk}) == [shown]


def test_popup_alerts_are_only_about_channels_the_person_may_still_see(tenancy, make_notification, make_channel):
    # Alerts written while the member could see the channel; then they are no longer in its workspace.
    seen = make_notification(recipient=tenancy.member, channel=tenancy.member_channel)
    gone = make_notification(recipient=tenancy.member, channel=tenancy.shared_channel)
    assert set(popup_alerts(tenancy.member)) == {seen, gone}
    tenancy.member.workspace_memberships.all()._raw_delete(tenancy.member.workspace_memberships.db)  # no signal
    assert popup_alerts(tenancy.member) == [seen]


def test_staff_see_the_alerts_meant_for_staff_whatever_their_memberships(tenancy, make_user, make_notification):
    staff = make_user("staff@ourapp.test", is_staff=True)
    crash = make_notification(recipient=staff, channel=tenancy.shared_channel, kind="crash")
    make_notification(recipient=staff, channel=tenancy.shared_channel, kind="needs_reauth")
    assert popup_alerts(staff) == [crash]


def test_every_kind_of_alert_is_in_exactly_one_category():
    kinds = [kind for category_kinds in CATEGORY_KINDS.values() for kind in category_kinds]
    assert sorted(kinds) == sorted(NotificationKind)
    assert set(CATEGORY_KINDS) == set(AlertCategory)


def test_alerts_are_emailed_unless_their_category_is_turned_off(tenancy):
    AlertEmailOptOut.objects.create(user=tenancy.admin, category=AlertCategory.STOPPED)
    assert not alert_email_wanted(tenancy.admin, NotificationKind.UNREACHABLE)
    assert not alert_email_wanted(tenancy.admin, NotificationKind.BLOCKED)
    assert alert_email_wanted(tenancy.admin, NotificationKind.NEEDS_REAUTH)
    assert alert_email_wanted(tenancy.member, NotificationKind.UNREACHABLE)  # someone else's choice


def test_only_staff_choose_emails_for_staff_alerts(tenancy, make_user):
    assert AlertCategory.STAFF not in alert_categories_for(tenancy.admin)
    assert alert_categories_for(make_user(is_staff=True)) == list(AlertCategory)


def test_the_history_keeps_read_and_resolved_alerts_of_channels_still_seen(tenancy, make_notification):
    old = make_notification(
        recipient=tenancy.member, channel=tenancy.member_channel, read_at=ago(days=1), resolved_at=ago(hours=1)
    )
    gone = make_notification(recipient=tenancy.member, channel=tenancy.shared_channel)
    make_notification(recipient=tenancy.admin, channel=tenancy.shared_channel)  # someone else's
    assert set(notification_history(tenancy.member)) == {old, gone}
    assert unread_notifications_count(tenancy.member) == 1
    tenancy.member.workspace_memberships.all()._raw_delete(tenancy.member.workspace_memberships.db)  # no signal
    assert list(notification_history(tenancy.member)) == [old]
    assert unread_notifications_count(tenancy.member) == 0


def _card(user, inbox):
    [card] = [c for c in inbox_cards(user) if c.inbox == inbox]
    return card


def test_a_card_leads_whoever_can_fix_the_channel_to_its_settings_and_the_others_to_its_overview(tenancy):
    channel = tenancy.shared_channel
    channel.status = ChannelStatus.NEEDS_REAUTH
    channel.save()
    settings_url, overview_url = f"/settings/channels/{channel.pk}/settings/", f"/settings/channels/{channel.pk}/"
    assert (_card(tenancy.admin, channel.inbox).url, _card(tenancy.member, channel.inbox).url) == (
        settings_url,
        overview_url,
    )
    channel.status = ChannelStatus.UNREACHABLE  # nothing to do but wait: the incidents are on the Overview
    channel.save()
    assert _card(tenancy.admin, channel.inbox).url == overview_url


def test_a_card_without_a_channel_leads_to_its_spaces_channels(tenancy, make_workspace_membership):
    inbox = Inbox.objects.create(
        company=tenancy.company, kind=InboxKind.SHARED, workspace=tenancy.workspace, name="Sales"
    )
    card = _card(tenancy.member, inbox)
    assert (card.channel, card.can_manage, card.url) == (
        None,
        False,
        f"/settings/workspaces/{tenancy.workspace.pk}/channels/",
    )
    own = Inbox.objects.create(company=tenancy.company, kind=InboxKind.INDIVIDUAL, owner=tenancy.member, name="Mine")
    assert _card(tenancy.member, own).url == "/settings/personal/channels/"
    assert _card(tenancy.member, own).can_manage


def test_cards_are_the_inboxes_a_person_may_see_with_one_role_query_per_workspace(
    tenancy, make_inbox, make_channel, make_workspace_membership, django_assert_max_num_queries
):
    for _ in range(5):
        make_channel(inbox=make_inbox(workspace=tenancy.workspace))
    tenancy.member.workspace_memberships.update(role=Role.ADMIN)
    with django_assert_max_num_queries(4):
        cards = inbox_cards(tenancy.member)
    assert len(cards) == 7 and all(card.can_manage for card in cards)
    assert [c.inbox.name for c in inbox_cards(tenancy.outsider)] == []
