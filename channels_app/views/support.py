"""Contact support from a channel's Overview tab."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from channels_app.forms import SupportRequestForm
from channels_app.http import AuthedRequest
from channels_app.permissions import access_channel
from channels_app.selectors import support_offered
from channels_app.services.support import support_request_create
from channels_app.services.throttle import throttle_hit
from channels_app.views.channel_pages import overview


@login_required
@require_POST
def contact_support(request: AuthedRequest, channel_id: int) -> HttpResponse:
    # Anyone who can see the channel may ask: everyone whose inbox stops is affected, and
    # often not the person who can reauthorize it.
    channel = access_channel(request.user, channel_id)
    if not support_offered(channel):
        # Open only where the Overview offers it, or the form would relay mail to support about anything.
        raise PermissionDenied("Contact support is open for channels that keep needing reauthorization.")
    form = SupportRequestForm(request.POST)
    throttled = None
    if form.is_valid():
        limit = settings.SUPPORT_REQUESTS_PER_HOUR
        throttled = throttle_hit(("support", request.user.pk, channel.pk), limit, 3600)
        if throttled is not None:
            form.add_error(
                None,
                f"You have sent support {limit} message{'s' if limit != 1 else ''} about this channel this hour. "
                f"They have your earlier messages; you can send another in {throttled.retry_after_minutes} min.",
            )
    if not form.is_valid():
        response = overview(request, channel_id=channel.pk, support_form=form)
        if throttled is not None:
            response.status_code = 429
        return response
    support_request_create(channel=channel, requester=request.user, message=form.cleaned_data["message"])
    messages.success(request, "Your message is on its way to support, with this channel's diagnostics.")
    return redirect("channel_overview", channel_id=channel.pk)
