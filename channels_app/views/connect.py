"""Add channel: connect a new mailbox to a space, over OAuth or IMAP with a password."""

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_http_methods

from channels_app.forms import ImapConnectForm, OAuthConnectForm
from channels_app.http import AuthedRequest
from channels_app.models import Channel, Workspace
from channels_app.permissions import PERSONAL_SPACE, NoCompany, SpaceKind, space_for_add
from channels_app.providers import Credentials, ImapEndpoint
from channels_app.providers.registry import provider_classes
from channels_app.selectors import first_import_scope
from channels_app.services.connect import DuplicateChannel, channel_create
from channels_app.services.oauth_state import PendingSpace, Purpose
from channels_app.views.imap_login import imap_login_check
from channels_app.views.oauth_start import oauth_start

TEMPLATE_IMAP = "channels_app/settings/add_imap_channel.html"
TEMPLATE_NO_COMPANY = "channels_app/settings/add_channel_no_company.html"


@dataclass(frozen=True)
class ProviderCard:
    """One provider on the Add channel page: what it connects, and why it cannot be chosen when it cannot."""

    kind: str
    label: str
    connects: str
    uses_oauth: bool
    unavailable: str  # "" when it can be chosen


def provider_cards() -> list[ProviderCard]:
    cards = []
    for kind, cls in provider_classes().items():
        provider = cls()
        configured = provider.is_configured()
        if not configured and not cls.listed_unconfigured:
            continue
        why = "" if configured else "Not set up for this app yet: ask your administrator."
        cards.append(ProviderCard(kind, cls.label, cls.connects, cls.uses_oauth, why))
    return cards


def connected_message(channel: Channel) -> str:
    """What the person who just connected a channel is told, by OAuth or IMAP alike: how far back its
    first import reaches, so that nobody looks for older mail in vain."""
    return f"Connected {channel.address}. Its first import brings in {first_import_scope(channel)}."


def chosen_workspace(kind: SpaceKind, workspaces: list[Workspace], form_value: Workspace | None) -> Workspace | None:
    """The workspace a new inbox goes in: chosen on the company page, the space's own otherwise (none: personal)."""
    if kind is SpaceKind.COMPANY:
        return form_value
    return workspaces[0] if workspaces else None


@login_required
@require_http_methods(["GET", "POST"])
def add_channel(request: AuthedRequest, space_kind: SpaceKind, workspace_id: int | None = None) -> HttpResponse:
    try:
        space, workspaces = space_for_add(request.user, space_kind, workspace_id)
    except NoCompany:
        return _no_company(request)
    choose = workspaces if space_kind is SpaceKind.COMPANY else None
    form = OAuthConnectForm(request.POST or None, workspaces=choose)
    if request.method == "POST" and form.is_valid():
        kind = form.cleaned_data["provider"]
        workspace = chosen_workspace(space_kind, workspaces, form.cleaned_data.get("workspace"))
        return oauth_start(
            request,
            purpose=Purpose.CONNECT,
            provider_kind=kind,
            login_hint="",
            shared_address=(form.cleaned_data.get("shared_address") or "").lower(),
            space=PendingSpace(
                kind=space_kind,
                space_workspace_id=workspace_id,
                workspace_id=workspace.pk if workspace else None,
                inbox_name=form.cleaned_data["inbox_name"],
                import_days=form.cleaned_data["import_days"],
            ),
        )
    imap_url = request.path.rstrip("/") + "/imap/"
    organisation_url = request.path.rstrip("/") + "/organisation/"
    context = {
        "space": space,
        "form": form,
        "imap_url": imap_url,
        "organisation_url": organisation_url,
        "cards": provider_cards(),
    }
    return render(request, "channels_app/settings/add_channel.html", context)


def _no_company(request: AuthedRequest) -> HttpResponse:
    return render(request, TEMPLATE_NO_COMPANY, {"space": PERSONAL_SPACE})


@sensitive_post_parameters("password")
@login_required
@require_http_methods(["GET", "POST"])
@sensitive_variables("data")
def add_imap_channel(request: AuthedRequest, space_kind: SpaceKind, workspace_id: int | None = None) -> HttpResponse:
    try:
        space, workspaces = space_for_add(request.user, space_kind, workspace_id)
    except NoCompany:
        return _no_company(request)
    form = ImapConnectForm(request.POST or None, workspaces=workspaces if space_kind is SpaceKind.COMPANY else None)
    status: int | None = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        imap = ImapEndpoint(data["host"], data["port"], data["security"], data["username"])
        status = imap_login_check(
            form,
            imap=imap,
            password=data["password"],
            tries_by=request.user.pk,
            rejected="The mail server rejected this user name or password.",
            unreachable="Check the server name, port and security.",
        )
        if status is None:
            try:
                channel = channel_create(
                    actor=request.user,
                    workspace=chosen_workspace(space_kind, workspaces, data.get("workspace")),
                    inbox_name=data["inbox_name"],
                    import_days=data["import_days"],
                    provider="imap",
                    address=data["address"],
                    credentials=Credentials(password=data["password"]),
                    imap=imap,
                )
            except DuplicateChannel as duplicate:
                form.add_error("address", str(duplicate))
            else:
                messages.success(request, connected_message(channel))
                return redirect("channel_overview", channel_id=channel.pk)
    return render(request, TEMPLATE_IMAP, {"space": space, "form": form}, status=status or 200)
