from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render

from channels_app.http import AuthedRequest
from channels_app.permissions import visible_channels


@login_required
def home(request: AuthedRequest) -> HttpResponse:
    """The inbox list: every inbox the person can see, with its channel's health."""
    channels = visible_channels(request.user).select_related("inbox", "inbox__workspace").order_by("inbox__name")
    return render(request, "channels_app/home.html", {"channels": channels})
