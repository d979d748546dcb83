"""One channel's pages: the Overview and Settings tabs, and its actions."""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render

from channels_app.forms import LinkSendForm, SupportRequestForm
from channels_app.history import channel_history
from channels_app.http import AuthedRequest
from channels_app.models import Channel
from channels_app.permissions import access_channel, can_manage_channel, space_of_channel
from channels_app.providers import get_provider
from channels_app.push_health import push_summary
from channels_app.selectors import (
    channel_diagnostics,
    channel_incidents,
    first_import_scope,
    mail_delivery,
    open_links,
    reauth_incidents_count,
    reauth_window_days,
    support_offered,
)
from channels_app.selectors.backfill import latest_receipt
from channels_app.selectors.subscriptions import graph_summary


def channel_context(request: AuthedRequest, channel: Channel, tab: str) -> dict[str, object]:
    return {
        "channel": channel,
        "space": space_of_channel(channel),
        "tab": tab,
        "can_manage": can_manage_channel(request.user, channel),
    }


def support_context(channel: Channel, form: SupportRequestForm | None = None) -> dict[str, object]:
    """For a channel that keeps breaking, the Overview's warning and its Contact support form."""
    incidents = channel_incidents(channel)
    count = reauth_incidents_count(channel)
    offer_support = support_offered(channel, count)
    return {
        "reauth_count": count,
        "reauth_days": reauth_window_days(),
        "offer_support": offer_support,
        "support_form": form or SupportRequestForm(),
        "diagnostics": channel_diagnostics(channel, incidents) if offer_support else "",
    }


@login_required
def overview(request: AuthedRequest, channel_id: int, support_form: SupportRequestForm | None = None) -> HttpResponse:
    """`support_form` is passed by views.support.contact_support to show its errors in place."""
    channel = access_channel(request.user, channel_id)
    context = channel_context(request, channel, "overview")
    context["history"] = channel_history(channel, staff=request.user.is_staff)
    context.update(support_context(channel, support_form))
    context["receipt"] = latest_receipt(channel)
    context["first_import"] = first_import_scope(channel)
    graph = context["graph"] = graph_summary(channel)
    gmail = context["gmail_push"] = push_summary(channel)
    push_on = bool(graph and graph.healthy) or bool(gmail and gmail.healthy)
    context["delivery"] = mail_delivery(channel, pushed=push_on)
    return render(request, "channels_app/channel/overview.html", context)


@login_required
def channel_settings(request: AuthedRequest, channel_id: int, link_form: LinkSendForm | None = None) -> HttpResponse:
    """`link_form` is passed by views.reauth_links.send to show its errors in place."""
    channel = access_channel(request.user, channel_id)
    context = channel_context(request, channel, "settings")
    context["revocation_note"] = get_provider(channel.provider).revocation_note
    if context["can_manage"]:
        context["link_form"] = link_form or LinkSendForm()
        context["open_links"] = open_links(channel)
        context["link_hours"] = settings.REAUTH_LINK_HOURS
    return render(request, "channels_app/channel/settings.html", context)
