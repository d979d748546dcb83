"""The settings spaces (company, a workspace, personal) and their Channels pages."""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import redirect, render

from channels_app.http import AuthedRequest
from channels_app.models import Channel, ChannelStatus, InboxKind
from channels_app.models.channels import ATTENTION_STATUSES
from channels_app.permissions import (
    PERSONAL_SPACE,
    Space,
    access_company,
    access_workspace,
    settings_spaces,
    workspace_role,
)

# The banner names this many channels and then says "and more".
ATTENTION_NAMED = 10


@login_required
def settings_root(request: AuthedRequest) -> HttpResponse:
    """The gear icon lands on the first space the person may manage."""
    return redirect(settings_spaces(request.user)[0].url)


def _render_channels(
    request: AuthedRequest, *, space: Space, channels: QuerySet[Channel], can_manage: bool
) -> HttpResponse:
    """A constant number of queries whatever the number of channels: one page of rows, one count,
    and the first few channels that need attention (and those disconnected) for the banners."""
    rows = channels.select_related("inbox", "inbox__workspace").order_by("address")
    page = Paginator(rows, settings.CHANNELS_PAGE_SIZE).get_page(request.GET.get("page"))
    attention_rows = channels.filter(status__in=ATTENTION_STATUSES).order_by("address")
    attention = list(attention_rows.only("pk", "address", "status", "provider")[: ATTENTION_NAMED + 1])
    disconnected_rows = channels.filter(status=ChannelStatus.DISCONNECTED).order_by("address")
    disconnected = list(disconnected_rows.only("pk", "address", "status", "provider")[: ATTENTION_NAMED + 1])
    return render(
        request,
        "channels_app/settings/channels.html",
        {
            "space": space,
            "page": page,
            "channels": page.object_list,
            "attention": attention[:ATTENTION_NAMED],
            "attention_more": len(attention) > ATTENTION_NAMED,
            "disconnected": disconnected[:ATTENTION_NAMED],
            "disconnected_more": len(disconnected) > ATTENTION_NAMED,
            "can_manage": can_manage,
            "show_workspace": space.kind == "company",
        },
    )


@login_required
def company_channels(request: AuthedRequest) -> HttpResponse:
    company = access_company(request.user)
    channels = Channel.objects.filter(inbox__company=company, inbox__kind=InboxKind.SHARED)
    space = Space("company", f"{company.name} (company)")
    return _render_channels(request, space=space, channels=channels, can_manage=True)


@login_required
def workspace_channels(request: AuthedRequest, workspace_id: int) -> HttpResponse:
    workspace = access_workspace(request.user, workspace_id)
    channels = Channel.objects.filter(inbox__workspace=workspace, inbox__kind=InboxKind.SHARED)
    space = Space("workspace", workspace.name, workspace.pk)
    can_manage = workspace_role(request.user, workspace) == "admin"
    return _render_channels(request, space=space, channels=channels, can_manage=can_manage)


@login_required
def personal_channels(request: AuthedRequest) -> HttpResponse:
    channels = Channel.objects.filter(inbox__kind=InboxKind.INDIVIDUAL, inbox__owner=request.user)
    space = PERSONAL_SPACE
    return _render_channels(request, space=space, channels=channels, can_manage=True)
