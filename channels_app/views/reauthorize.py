"""Reauthorize: the OAuth round trip for a channel, or a new password for an IMAP channel."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_POST

from channels_app.forms import ImapPasswordForm, could_not_sign_in, too_many_tries
from channels_app.http import AuthedRequest
from channels_app.models import Channel, ReauthorizationLink, User
from channels_app.permissions import access_channel, require_manage_channel, space_of_channel
from channels_app.providers import AuthFailure, Credentials, ProviderFailure, get_provider
from channels_app.services.connect import imap_verify_login
from channels_app.services.mailbox import channel_endpoint
from channels_app.services.reauthorize import channel_reauthorize
from channels_app.services.throttle import imap_login_throttle
from channels_app.views.oauth_start import channel_login_hint, oauth_start


@login_required
@require_POST
def reauthorize(request: AuthedRequest, channel_id: int) -> HttpResponse:
    channel = access_channel(request.user, channel_id)
    require_manage_channel(request.user, channel)
    provider = get_provider(channel.provider)
    if not provider.uses_oauth:
        return redirect("channel_reauthorize_password", channel_id=channel.pk)
    if not provider.is_configured():
        messages.error(request, f"{provider.label} is not set up for this app yet; ask your administrator.")
        return redirect("channel_settings", channel_id=channel.pk)
    return oauth_start(
        request,
        purpose="reauthorize",
        provider_kind=channel.provider,
        login_hint=channel_login_hint(channel),
        channel_id=channel.pk,
    )


@sensitive_variables("password")
def password_reauthorize_attempt(
    form: ImapPasswordForm,
    channel: Channel,
    *,
    tries_by: int | str,
    actor: User | None,
    link: ReauthorizationLink | None = None,
) -> int | None:
    """Try the new password of a valid `form` on `channel`'s server and store it if the server takes it.

    None when the channel was reauthorized; else the HTTP status to show the form again with, its
    errors added. `tries_by` is whose tries are counted (a person, or a reauthorization link). Through
    a `link`, the link is used up as the password is stored (LinkUnusable if another try used it first)."""
    password = form.cleaned_data["password"]
    imap = channel_endpoint(channel)
    throttled = imap_login_throttle(person_id=tries_by, address=f"{imap.username}@{imap.host}")
    if throttled is not None:
        form.add_error(None, too_many_tries(throttled))
        return 429
    try:
        imap_verify_login(imap=imap, password=password)
    except AuthFailure:
        form.add_error("password", "The mail server rejected this password. Nothing was changed.")
        return 200
    except ProviderFailure:
        form.add_error(None, f"{could_not_sign_in(imap.host, imap.port)} Nothing was changed; try again in a moment.")
        return 200
    channel_reauthorize(channel=channel, credentials=Credentials(password=password), actor=actor, link=link)
    return None


@sensitive_post_parameters("password")
@login_required
def reauthorize_password(request: AuthedRequest, channel_id: int) -> HttpResponse:
    channel = access_channel(request.user, channel_id)
    require_manage_channel(request.user, channel)
    if get_provider(channel.provider).uses_oauth:
        return redirect("channel_settings", channel_id=channel.pk)
    form = ImapPasswordForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        result = password_reauthorize_attempt(form, channel, tries_by=request.user.pk, actor=request.user)
        if result is None:
            messages.success(request, f"Reauthorized: {channel.address} is active again.")
            return redirect("channel_overview", channel_id=channel.pk)  # the missed mail's import, then its receipt
        status = result
    context = {"channel": channel, "space": space_of_channel(channel), "tab": "settings", "form": form}
    return render(request, "channels_app/channel/reauthorize_password.html", context, status=status)
