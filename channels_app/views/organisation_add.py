"""Add channel → through the organisation connection: the mailbox is opened through the company's
connection before anything is saved, and refused with the instruction that would cover it."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from channels_app.http import AuthedRequest
from channels_app.organisation_forms import OrganisationConnectForm
from channels_app.permissions import PERSONAL_SPACE, NoCompany, SpaceKind, company_membership, space_for_add
from channels_app.selectors.organisation import usable_connections
from channels_app.services.connect import DuplicateChannel
from channels_app.services.organisation_channels import NotCovered, organisation_channel_create
from channels_app.views.connect import chosen_workspace, connected_message

TEMPLATE = "channels_app/settings/add_organisation_channel.html"
TEMPLATE_NO_COMPANY = "channels_app/settings/add_channel_no_company.html"


@login_required
@require_http_methods(["GET", "POST"])
def add_organisation_channel(
    request: AuthedRequest, space_kind: SpaceKind, workspace_id: int | None = None
) -> HttpResponse:
    try:
        space, workspaces = space_for_add(request.user, space_kind, workspace_id)
    except NoCompany:
        return render(request, TEMPLATE_NO_COMPANY, {"space": PERSONAL_SPACE})
    membership = company_membership(request.user)
    assert membership is not None  # space_for_add raised NoCompany otherwise
    connections = usable_connections(membership.company_id)
    choose = workspaces if space_kind is SpaceKind.COMPANY else None
    form = OrganisationConnectForm(request.POST or None, workspaces=choose, connections=connections)
    context = {"space": space, "form": form, "connections": connections}
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        workspace = chosen_workspace(space_kind, workspaces, data.get("workspace"))
        try:
            channel = organisation_channel_create(
                actor=request.user,
                workspace=workspace,
                connection=data["connection"],
                address=data["address"],
                inbox_name=data["inbox_name"],
                import_days=data["import_days"],
            )
        except NotCovered as refusal:
            form.add_error("address", str(refusal))
        except DuplicateChannel as duplicate:
            form.add_error("address", str(duplicate))
        else:
            messages.success(request, connected_message(channel))
            return redirect("channel_overview", channel_id=channel.pk)
        return render(request, TEMPLATE, context, status=400)
    return render(request, TEMPLATE, context)
