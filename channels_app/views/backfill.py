from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render

from channels_app.http import AuthedRequest
from channels_app.permissions import access_channel


@login_required
def backfill_progress(request: AuthedRequest, channel_id: int) -> HttpResponse:
    """The progress fragment, polled by the page while a backfill runs; empty once it is done."""
    channel = access_channel(request.user, channel_id)
    return render(request, "channels_app/channel/_backfill_fragment.html", {"channel": channel})
