from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render

from channels_app.http import AuthedRequest
from channels_app.selectors import inbox_cards


@login_required
def home(request: AuthedRequest) -> HttpResponse:
    """The inbox list: every inbox the person can see, with its channel's state and a way to where it is read
    or fixed."""
    return render(request, "channels_app/home.html", {"cards": inbox_cards(request.user)})
