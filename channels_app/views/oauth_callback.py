"""Where every provider sends the person back, for reauthorizing and for connecting alike."""

from typing import cast

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from channels_app.http import AuthedRequest
from channels_app.permissions import NoCompany, access_channel, require_manage_channel, space_for_add
from channels_app.providers import ProviderFailure, get_provider
from channels_app.services.connect import DuplicateChannel, WrongAccount, oauth_connect_finish
from channels_app.services.oauth_state import PendingAuthorization, Purpose, StateRejected, state_pop, state_purpose
from channels_app.services.reauthorize import oauth_reauthorize_finish
from channels_app.views.connect import connected_message
from channels_app.views.oauth_answers import failure_message, provider_error
from channels_app.views.reauth_links import link_finish


def oauth_callback(request: HttpRequest) -> HttpResponse:
    state = request.GET.get("state", "")
    signed_in = request.user.is_authenticated
    # Only a sign-in through a reauthorization link comes back without an account with us.
    if not signed_in and state_purpose(request.session, state) != Purpose.LINK:
        return redirect_to_login(request.get_full_path())
    try:
        pending = state_pop(request.session, state, user_id=request.user.pk if signed_in else None)
    except StateRejected as rejected:
        return render(request, "channels_app/oauth_rejected.html", {"reason": str(rejected)}, status=403)
    if pending.purpose == Purpose.LINK:
        return link_finish(request, pending)
    if pending.purpose == Purpose.REAUTHORIZE:
        return _finish_reauthorize(cast(AuthedRequest, request), pending)
    return _finish_connect(cast(AuthedRequest, request), pending)


def _finish_reauthorize(request: AuthedRequest, pending: PendingAuthorization) -> HttpResponse:
    assert pending.channel_id is not None
    channel = access_channel(request.user, pending.channel_id)
    require_manage_channel(request.user, channel)
    provider = get_provider(channel.provider)
    back = redirect("channel_settings", channel_id=channel.pk)
    if problem := provider_error(request, provider):
        messages.warning(request, problem)
        return back
    try:
        oauth_reauthorize_finish(channel=channel, pending=pending, code=request.GET["code"], actor=request.user)
    except WrongAccount as wrong:
        messages.error(request, str(wrong))
    except ProviderFailure as failure:
        messages.error(request, failure_message(failure, provider.label))
    else:
        # The Overview shows the import of what was missed, then its receipt.
        messages.success(request, f"Reauthorized: {channel.address} is active again.")
        return redirect("channel_overview", channel_id=channel.pk)
    return back


def _finish_connect(request: AuthedRequest, pending: PendingAuthorization) -> HttpResponse:
    assert pending.space is not None  # every CONNECT is started with one (views/connect.py)
    try:
        space, workspaces = space_for_add(request.user, pending.space.kind, pending.space.space_workspace_id)
    except NoCompany:  # left the company during the round trip
        raise Http404("No such page.") from None
    wanted = pending.space.workspace_id
    workspace = next((w for w in workspaces if w.pk == wanted), None)
    provider = get_provider(pending.provider)
    if wanted is not None and workspace is None:
        # The workspace went away (or out of reach) during the round trip: never a personal inbox instead.
        messages.error(request, "The workspace this channel was being added to is gone. Nothing was changed.")
        return redirect(space.url)
    if problem := provider_error(request, provider):
        messages.warning(request, problem)
        return redirect(space.url)
    try:
        channel = oauth_connect_finish(
            pending=pending, code=request.GET["code"], actor=request.user, workspace=workspace
        )
    except (DuplicateChannel, WrongAccount, ProviderFailure) as error:
        # WrongAccount: a shared mailbox the signed-in person cannot open (NotADelegate).
        text = failure_message(error, provider.label) if isinstance(error, ProviderFailure) else str(error)
        messages.error(request, text)
        return redirect(space.url)
    messages.success(request, connected_message(channel))
    return redirect("channel_overview", channel_id=channel.pk)
