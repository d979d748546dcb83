"""Pop-ups end with access: leaving a workspace or a company closes the person's alerts about its channels.
Alerts are marked read once, when first seen."""

from datetime import timedelta

from django.utils import timezone

from channels_app.models import Notification, Role
from channels_app.services.alerts import notification_mark_read, notifications_mark_all_read


def _open(user) -> set[int]:
    return set(Notification.objects.filter(recipient=user, resolved_at__isnull=True).values_list("channel", flat=True))


def test_leaving_a_workspace_closes_its_channels_alerts_and_keeps_the_rest(tenancy, make_notification):
    make_notification(recipient=tenancy.member, channel=tenancy.shared_channel)
    make_notification(recipient=tenancy.member, channel=tenancy.member_channel)
    tenancy.member.workspace_memberships.get(workspace=tenancy.workspace).delete()
    assert _open(tenancy.member) == {tenancy.member_channel.pk}


def test_moving_to_another_company_closes_the_old_companys_alerts(tenancy, make_notification, make_company):
    make_notification(recipient=tenancy.admin, channel=tenancy.shared_channel)
    membership = tenancy.admin.company_membership
    membership.company = make_company("Initech")
    membership.save()
    assert _open(tenancy.admin) == set()


def test_a_new_membership_closes_nothing(tenancy, make_notification, make_workspace, make_workspace_membership):
    make_notification(recipient=tenancy.admin, channel=tenancy.shared_channel)
    make_workspace_membership(user=tenancy.admin, workspace=make_workspace(tenancy.company), role=Role.ADMIN)
    assert _open(tenancy.admin) == {tenancy.shared_channel.pk}


def test_marking_read_keeps_the_first_time_it_was_read(tenancy, make_notification):
    first = timezone.now() - timedelta(days=2)
    read = make_notification(recipient=tenancy.admin, channel=tenancy.shared_channel, read_at=first)
    unread = make_notification(recipient=tenancy.admin, channel=tenancy.shared_channel, kind="unreachable")
    for notification in (read, unread):
        notification_mark_read(notification=notification)
        notification.refresh_from_db()
    assert read.read_at == first and unread.read_at is not None


def test_mark_all_read_marks_the_persons_unread_alerts_only(tenancy, make_notification):
    first = timezone.now() - timedelta(days=2)
    make_notification(recipient=tenancy.member, channel=tenancy.member_channel)
    make_notification(recipient=tenancy.member, channel=tenancy.shared_channel, resolved_at=timezone.now())
    make_notification(recipient=tenancy.member, channel=tenancy.member_channel, kind="recovered", read_at=first)
    others = make_notification(recipient=tenancy.admin, channel=tenancy.shared_channel)
    assert notifications_mark_all_read(user=tenancy.member) == 2
    assert not Notification.objects.filter(recipient=tenancy.member, read_at__isnull=True).exists()
    assert Notification.objects.get(recipient=tenancy.member, kind="recovered").read_at == first
    others.refresh_from_db()
    assert others.read_at is None
    assert notifications_mark_all_read(user=tenancy.member) == 0
