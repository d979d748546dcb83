"""Starting an OAuth round trip, for connecting, reauthorizing and reauthorization links alike: the
pending authorization kept in the session, and the redirect to the provider's sign-in."""

from typing import Any

from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import redirect
from django.urls import reverse

from channels_app.models import Channel
from channels_app.providers import get_provider
from channels_app.services.oauth_state import PendingAuthorization, new_code_verifier, state_stash


def channel_login_hint(channel: Channel) -> str:
    # A shared mailbox has no sign-in of its own: suggest the delegate who opened it last.
    return channel.delegate_address or channel.address


def oauth_start(
    request: HttpRequest, *, purpose: str, provider_kind: str, login_hint: str, **fields: Any
) -> HttpResponseRedirect:
    """Stash a PendingAuthorization (`fields`: channel_id, link_id, space, shared_address …) under a new
    state and send the person to the provider with PKCE. Without an account with us (a link's holder)
    the state is bound to this browser's session alone."""
    pending = PendingAuthorization(
        purpose=purpose,
        provider=provider_kind,
        user_id=request.user.pk if request.user.is_authenticated else None,
        code_verifier=new_code_verifier(),
        redirect_uri=request.build_absolute_uri(reverse("oauth_callback")),
        **fields,
    )
    state = state_stash(request.session, pending)
    url = get_provider(provider_kind).authorization_url(
        redirect_uri=pending.redirect_uri, state=state, code_verifier=pending.code_verifier, login_hint=login_hint
    )
    return redirect(url)
