"""Pop-ups end with access: leaving a workspace or a company closes the person's alerts about its channels."""

from channels_app.models import Notification, Role


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
