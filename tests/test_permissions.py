import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from channels_app.models import Role
from channels_app.permissions import (
    NoCompany,
    SpaceKind,
    access_channel,
    access_company,
    access_workspace,
    can_manage_channel,
    require_manage_channel,
    settings_spaces,
    space_for_add,
)


def test_company_admin_sees_company_all_workspaces_and_personal(tenancy, make_workspace):
    extra = make_workspace(tenancy.company, "Sales")
    kinds = [(s.kind, s.workspace_id) for s in settings_spaces(tenancy.admin)]
    assert kinds == [
        (SpaceKind.COMPANY, None),
        (SpaceKind.WORKSPACE, extra.pk),
        (SpaceKind.WORKSPACE, tenancy.workspace.pk),
        (SpaceKind.PERSONAL, None),
    ]


def test_member_sees_only_their_workspaces_and_personal(tenancy, make_workspace):
    make_workspace(tenancy.company, "Sales")
    kinds = [(s.kind, s.workspace_id) for s in settings_spaces(tenancy.member)]
    assert kinds == [(SpaceKind.WORKSPACE, tenancy.workspace.pk), (SpaceKind.PERSONAL, None)]


def test_access_company_is_for_company_admins_only(tenancy):
    assert access_company(tenancy.admin) == tenancy.company
    with pytest.raises(Http404):
        access_company(tenancy.member)


def test_outsider_cannot_reach_another_companys_workspace_or_channel(tenancy):
    with pytest.raises(Http404):
        access_workspace(tenancy.outsider, tenancy.workspace.pk)
    with pytest.raises(Http404):
        access_channel(tenancy.outsider, tenancy.shared_channel.pk)


def test_missing_and_forbidden_channels_raise_the_same_error(tenancy):
    with pytest.raises(Http404) as missing:
        access_channel(tenancy.member, 999_999)
    with pytest.raises(Http404) as forbidden:
        access_channel(tenancy.outsider, tenancy.member_channel.pk)
    assert str(missing.value) == str(forbidden.value)


def test_individual_inbox_is_visible_only_to_its_owner(tenancy):
    assert access_channel(tenancy.member, tenancy.member_channel.pk) == tenancy.member_channel
    with pytest.raises(Http404):
        access_channel(tenancy.admin, tenancy.member_channel.pk)


def test_member_sees_shared_channel_but_cannot_manage_it(tenancy):
    channel = access_channel(tenancy.member, tenancy.shared_channel.pk)
    assert not can_manage_channel(tenancy.member, channel)
    with pytest.raises(PermissionDenied):
        require_manage_channel(tenancy.member, channel)


def test_company_admin_and_workspace_admin_manage_shared_channels(
    tenancy, make_user, make_company_membership, make_workspace_membership
):
    assert can_manage_channel(tenancy.admin, tenancy.shared_channel)
    ws_admin = make_user()
    make_company_membership(user=ws_admin, company=tenancy.company)
    make_workspace_membership(user=ws_admin, workspace=tenancy.workspace, role=Role.ADMIN)
    assert can_manage_channel(ws_admin, access_channel(ws_admin, tenancy.shared_channel.pk))


def test_owner_manages_their_individual_channel(tenancy):
    assert can_manage_channel(tenancy.member, tenancy.member_channel)


def test_space_for_add_gives_the_space_and_where_its_inbox_may_go(tenancy):
    space, workspaces = space_for_add(tenancy.admin, SpaceKind.COMPANY, None)
    assert (space.kind, space.add_url, workspaces) == (
        SpaceKind.COMPANY,
        "/settings/company/channels/add/",
        [tenancy.workspace],
    )
    space, workspaces = space_for_add(tenancy.admin, SpaceKind.WORKSPACE, tenancy.workspace.pk)
    assert (space.kind, space.workspace_id, workspaces) == (
        SpaceKind.WORKSPACE,
        tenancy.workspace.pk,
        [tenancy.workspace],
    )
    space, workspaces = space_for_add(tenancy.member, SpaceKind.PERSONAL, None)
    assert (space.kind, workspaces) == (SpaceKind.PERSONAL, [])


def test_space_for_add_refuses_a_member_and_hides_from_an_outsider(tenancy, make_user):
    with pytest.raises(Http404):
        space_for_add(tenancy.member, SpaceKind.COMPANY, None)
    with pytest.raises(PermissionDenied):
        space_for_add(tenancy.member, SpaceKind.WORKSPACE, tenancy.workspace.pk)
    with pytest.raises(Http404):
        space_for_add(tenancy.outsider, SpaceKind.WORKSPACE, tenancy.workspace.pk)
    with pytest.raises(NoCompany):
        space_for_add(make_user(), SpaceKind.PERSONAL, None)
