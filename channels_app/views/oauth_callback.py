"""Where every provider sends the person back, for reauthorizing and for connecting alike."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render

from channels_app.http import AuthedRequest
from channels_app.permissions import access_channel, require_manage_channel
from channels_app.providers import (
    AuthFailure,
    ConfigurationFailure,
    MailProvider,
    PassingFailure,
    PolicyFailure,
    ProviderFailure,
    ScopeNotGranted,
    get_provider,
)
from channels_app.services.connect import (
    DuplicateChannel,
    WrongAccount,
    oauth_connect_finish,
    oauth_reauthorize_finish,
)
from channels_app.services.notifications import blocked_advice
from channels_app.services.oauth_state import PendingAuthorization, StateRejected, state_pop
from channels_app.views.connect import space_for_add


def failure_message(failure: ProviderFailure, label: str) -> str:
    """What the person who just signed in is told; always ends in what happened to the channel: nothing."""
    if isinstance(failure, ScopeNotGranted):
        return failure.message
    if isinstance(failure, PolicyFailure):
        said = f" {label} says: “{failure.provider_words}”" if failure.provider_words else ""
        return f"{failure.message}{said} {blocked_advice(failure.admin_action)} Nothing was changed."
    if isinstance(failure, AuthFailure):
        return f"{label} did not accept the sign-in. Nothing was changed; please try again."
    if isinstance(failure, ConfigurationFailure):
        code = f" ({failure.code})" if failure.code else ""
        return f"This app's registration with {label} needs fixing by our staff{code}. Nothing was changed."
    return f"{label} could not be reached just now. Nothing was changed; please try again in a minute."


@login_required
def oauth_callback(request: AuthedRequest) -> HttpResponse:
    try:
        pending = state_pop(request.session, request.GET.get("state", ""), user_id=request.user.pk)
    except StateRejected as rejected:
        return render(request, "channels_app/oauth_rejected.html", {"reason": str(rejected)}, status=403)
    if pending.purpose == "reauthorize":
        return _finish_reauthorize(request, pending)
    return _finish_connect(request, pending)


def _provider_error(request: AuthedRequest, provider: MailProvider) -> str | None:
    """The message for a redirect back without a code (declined, blocked by an administrator, ...)."""
    if error := request.GET.get("error"):
        query = {key: request.GET.get(key, "")[:500] for key in ("error", "error_description", "error_subcode")}
        failure = provider.authorize_error(query)
        if failure is None:
            return f"You declined access at {provider.label}. Nothing was changed."
        if isinstance(failure, PassingFailure) and failure.unrecognised:
            return f"{provider.label} answered with an error ({error[:80]}). Nothing was changed."
        return failure_message(failure, provider.label)
    if not request.GET.get("code"):
        return f"{provider.label} sent you back without an authorization. Nothing was changed."
    return None


def _finish_reauthorize(request: AuthedRequest, pending: PendingAuthorization) -> HttpResponse:
    assert pending.channel_id is not None
    channel = access_channel(request.user, pending.channel_id)
    require_manage_channel(request.user, channel)
    provider = get_provider(channel.provider)
    back = redirect("channel_settings", channel_id=channel.pk)
    if problem := _provider_error(request, provider):
        messages.warning(request, problem)
        return back
    try:
        oauth_reauthorize_finish(channel=channel, pending=pending, code=request.GET["code"], actor=request.user)
    except WrongAccount as wrong:
        messages.error(request, str(wrong))
    except ProviderFailure as failure:
        messages.error(request, failure_message(failure, provider.label))
    else:
        messages.success(request, f"Reauthorized: {channel.address} is active again.")
    return back


def _finish_connect(request: AuthedRequest, pending: PendingAuthorization) -> HttpResponse:
    space, workspaces = space_for_add(request.user, pending.space["kind"], pending.space.get("space_workspace_id"))
    wanted = pending.space.get("workspace_id")
    workspace = next((w for w in workspaces if w.pk == wanted), None)
    provider = get_provider(pending.provider)
    if wanted is not None and workspace is None:
        # The workspace went away (or out of reach) during the round trip: never a personal inbox instead.
        messages.error(request, "The workspace this channel was being added to is gone. Nothing was changed.")
        return redirect(space.url)
    if problem := _provider_error(request, provider):
        messages.warning(request, problem)
        return redirect(space.url)
    try:
        channel = oauth_connect_finish(
            pending=pending, code=request.GET["code"], actor=request.user, workspace=workspace
        )
    except (DuplicateChannel, ProviderFailure) as error:
        text = str(error) if isinstance(error, DuplicateChannel) else failure_message(error, provider.label)
        messages.error(request, text)
        return redirect(space.url)
    messages.success(request, f"Connected {channel.address}.")
    return redirect("channel_overview", channel_id=channel.pk)
