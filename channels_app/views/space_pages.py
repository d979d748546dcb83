"""The settings spaces (company, a workspace, personal) and their Channels pages."""

from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from channels_app.models import Channel, InboxKind
from channels_app.permissions import (
    Space,
    access_company,
    access_workspace,
    settings_spaces,
    workspace_role,
)


@login_required
def settings_root(request: HttpRequest) -> HttpResponse:
    """The gear icon lands on the first space the person may manage."""
    return redirect(settings_spaces(request.user)[0].url)


def _render_channels(
    request: HttpRequest, *, space: Space, channels: QuerySet[Channel], can_manage: bool
) -> HttpResponse:
    rows = list(channels.select_related("inbox", "inbox__workspace", "inbox__owner").order_by("address"))
    attention = [c for c in rows if c.needs_attention]
    return render(
        request,
        "channels_app/settings/channels.html",
        {
            "space": space,
            "channels": rows,
            "attention": attention,
            "can_manage": can_manage,
            "show_workspace": space.kind == "company",
        },
    )


@login_required
def company_channels(request: HttpRequest) -> HttpResponse:
    company = access_company(request.user)
    channels = Channel.objects.filter(inbox__company=company, inbox__kind=InboxKind.SHARED)
    space = Space("company", f"{company.name} (company)")
    return _render_channels(request, space=space, channels=channels, can_manage=True)


@login_required
def workspace_channels(request: HttpRequest, workspace_id: int) -> HttpResponse:
    workspace = access_workspace(request.user, workspace_id)
    channels = Channel.objects.filter(inbox__workspace=workspace, inbox__kind=InboxKind.SHARED)
    space = Space("workspace", workspace.name, workspace.pk)
    can_manage = workspace_role(request.user, workspace) == "admin"
    return _render_channels(request, space=space, channels=channels, can_manage=can_manage)


@login_required
def personal_channels(request: HttpRequest) -> HttpResponse:
    channels = Channel.objects.filter(inbox__kind=InboxKind.INDIVIDUAL, inbox__owner=request.user)
    space = Space("personal", "Personal settings")
    return _render_channels(request, space=space, channels=channels, can_manage=True)
