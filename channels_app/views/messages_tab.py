"""The channel's Messages tab: what was imported, newest first, so a person can see the missed mail is there."""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import F
from django.http import HttpResponse
from django.shortcuts import render

from channels_app.http import AuthedRequest
from channels_app.permissions import access_channel, can_manage_channel, space_of_channel


@login_required
def channel_messages(request: AuthedRequest, channel_id: int) -> HttpResponse:
    channel = access_channel(request.user, channel_id)
    # Newest arrival first (what the server says, not the sender's Date header, which can be anything).
    rows = (
        channel.messages.select_related("folder")
        .order_by(F("internal_date").desc(nulls_last=True), "-id")
        .only(
            "subject", "from_address", "date", "internal_date", "size", "parse_problems", "imported_at", "folder__name"
        )
    )
    page = Paginator(rows, settings.MESSAGES_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "channel": channel,
        "space": space_of_channel(channel),
        "tab": "messages",
        "can_manage": can_manage_channel(request.user, channel),
        "page": page,
    }
    return render(request, "channels_app/channel/messages.html", context)
