from django.http import HttpRequest

from channels_app.models import User


class AuthedRequest(HttpRequest):
    """The request of a view behind login_required: its user is one of ours, never anonymous."""

    user: User
