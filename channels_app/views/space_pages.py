"""The settings spaces (company, a workspace, personal) and their Channels pages."""

from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import redirect, render

from channels_app.http import AuthedRequest
from channels_app.models import Channel, Role
from channels_app.permissions import (
    PERSONAL_SPACE,
    Space,
    SpaceKind,
    access_company,
    access_workspace,
    settings_spaces,
    workspace_role,
)
from channels_app.selectors import channel_lists


@login_required
def settings_root(request: AuthedRequest) -> HttpResponse:
    """The gear icon lands on the first space the person may manage."""
    return redirect(settings_spaces(request.user)[0].url)


def _render_channels(
    request: AuthedRequest, *, space: Space, channels: QuerySet[Channel], can_manage: bool
) -> HttpResponse:
    listed = channel_lists.channel_list(channels, request.GET.get("page"))
    return render(
        request,
        "channels_app/settings/channels.html",
        {
            "space": space,
            "page": listed.page,
            "channels": listed.page.object_list,
            "attention": listed.attention,
            "attention_more": listed.attention_more,
            "disconnected": listed.disconnected,
            "disconnected_more": listed.disconnected_more,
            "can_manage": can_manage,
            "show_workspace": space.kind is SpaceKind.COMPANY,
        },
    )


@login_required
def company_channels(request: AuthedRequest) -> HttpResponse:
    company = access_company(request.user)
    channels = channel_lists.company_channels(company)
    space = Space.of_company(company)
    return _render_channels(request, space=space, channels=channels, can_manage=True)


@login_required
def workspace_channels(request: AuthedRequest, workspace_id: int) -> HttpResponse:
    workspace = access_workspace(request.user, workspace_id)
    channels = channel_lists.workspace_channels(workspace)
    space = Space.of_workspace(workspace)
    can_manage = workspace_role(request.user, workspace) == Role.ADMIN
    return _render_channels(request, space=space, channels=channels, can_manage=can_manage)


@login_required
def personal_channels(request: AuthedRequest) -> HttpResponse:
    channels = channel_lists.personal_channels(request.user)
    space = PERSONAL_SPACE
    return _render_channels(request, space=space, channels=channels, can_manage=True)
