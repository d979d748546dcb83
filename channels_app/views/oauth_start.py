"""Starting an OAuth round trip from a page, for connecting, reauthorizing and reauthorization links alike:
the redirect to the provider's sign-in (the pending authorization: services/oauth_state.py)."""

from typing import Any

from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import redirect
from django.urls import reverse

from channels_app.models import Channel
from channels_app.services.oauth_state import Purpose, authorization_start


def channel_login_hint(channel: Channel) -> str:
    # A shared mailbox has no sign-in of its own: suggest the delegate who opened it last.
    return channel.delegate_address or channel.address


def oauth_start(
    request: HttpRequest, *, purpose: Purpose, provider_kind: str, login_hint: str, **fields: Any
) -> HttpResponseRedirect:
    """Send the person to the provider's sign-in (services.oauth_state.authorization_start). Without an
    account with us (a link's holder) the state is bound to this browser's session alone."""
    url = authorization_start(
        request.session,
        purpose=purpose,
        provider_kind=provider_kind,
        user_id=request.user.pk if request.user.is_authenticated else None,
        redirect_uri=request.build_absolute_uri(reverse("oauth_callback")),
        login_hint=login_hint,
        **fields,
    )
    return redirect(url)
