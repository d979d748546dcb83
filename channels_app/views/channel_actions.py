"""What a manager of a channel does to it from its Settings tab: test its connection, disconnect it and
remove it (the last two asked first on a page of their own, so they work without JavaScript)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import pluralize
from django.views.decorators.http import require_http_methods, require_POST

from channels_app.http import AuthedRequest
from channels_app.models import Channel, ChannelStatus
from channels_app.permissions import access_channel, require_manage_channel, space_of_channel
from channels_app.providers import RevokeOutcome, get_provider
from channels_app.selectors import channel_footprint
from channels_app.services.connect import ChannelBusy, channel_disconnect, channel_remove
from channels_app.services.connection_test import connection_test, connection_test_throttle
from channels_app.views.channel_pages import channel_context


def _managed(request: AuthedRequest, channel_id: int) -> Channel:
    """404 for a channel one cannot see, 403 for one one may see but not change."""
    channel = access_channel(request.user, channel_id)
    require_manage_channel(request.user, channel)
    return channel


def _given_back(channel: Channel, outcome: RevokeOutcome) -> str:
    provider = get_provider(channel.provider)
    return {
        RevokeOutcome.REVOKED: f" Our access was given back to {provider.label}.",
        RevokeOutcome.UNSUPPORTED: f" {provider.revocation_note}",
        RevokeOutcome.FAILED: f" {provider.label} could not be reached to give our access back; it ends when "
        "the account removes this app.",
    }.get(outcome, "")


def _confirm(request: AuthedRequest, channel: Channel, template: str) -> HttpResponse:
    context = channel_context(request, channel, "settings")
    context["footprint"] = channel_footprint(channel)
    context["provider"] = get_provider(channel.provider)
    return render(request, template, context)


@login_required
@require_http_methods(["GET", "POST"])
def disconnect(request: AuthedRequest, channel_id: int) -> HttpResponse:
    channel = _managed(request, channel_id)
    if channel.status == ChannelStatus.DISCONNECTED:
        return redirect("channel_settings", channel_id=channel.pk)
    if request.method == "GET":
        return _confirm(request, channel, "channels_app/channel/confirm_disconnect.html")
    _event, outcome = channel_disconnect(channel=channel, actor=request.user)
    messages.success(
        request,
        f"{channel.address} is disconnected. Reconnect it with Reauthorize, or remove it."
        + _given_back(channel, outcome),
    )
    return redirect("channel_overview", channel_id=channel.pk)


@login_required
@require_http_methods(["GET", "POST"])
def remove(request: AuthedRequest, channel_id: int) -> HttpResponse:
    channel = _managed(request, channel_id)
    if request.method == "GET":
        return _confirm(request, channel, "channels_app/channel/confirm_remove.html")
    space = space_of_channel(channel)
    try:
        removed = channel_remove(channel=channel, actor=request.user)
    except ChannelBusy:
        messages.error(request, f"{channel.address} is syncing right now. Nothing was removed; try again in a minute.")
        return redirect("channel_remove", channel_id=channel.pk)
    count = f"{removed.messages} imported message{pluralize(removed.messages)}"
    messages.success(
        request,
        f"Removed {removed.address}: the inbox {removed.inbox_name} and its {count} are deleted. "
        f"The mail is still in the mailbox at {get_provider(channel.provider).label}."
        f"{_given_back(channel, removed.given_back)}",
    )
    return redirect(space.url)


@login_required
@require_POST
def test_connection(request: AuthedRequest, channel_id: int) -> HttpResponse:
    channel = _managed(request, channel_id)
    throttled = connection_test_throttle(person_id=request.user.pk, channel_id=channel.pk)
    if throttled is not None:
        messages.error(
            request,
            f"The connection was tested often just now: try again in {throttled.retry_after_minutes} min "
            "(each test signs in to the mailbox, and providers lock out accounts that sign in too often).",
        )
    else:
        answer = connection_test(channel=channel, person=request.user)
        (messages.success if answer.works else messages.error)(request, answer.words)
    # To the top of the tab, where the answer shows: scrolled to #connection, it was above the window.
    return redirect("channel_settings", channel.pk)
