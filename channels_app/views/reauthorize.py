"""Reauthorize: the OAuth round trip for a channel, or a new password for an IMAP channel."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_POST

from channels_app.forms import ImapPasswordForm
from channels_app.http import AuthedRequest
from channels_app.models import Channel, ReauthorizationLink, User
from channels_app.permissions import access_channel, require_manage_channel, space_of_channel
from channels_app.providers import Credentials, get_provider
from channels_app.services.mailbox import channel_endpoint
from channels_app.services.oauth_state import Purpose
from channels_app.services.reauthorize import channel_reauthorize
from channels_app.views.imap_login import imap_login_check
from channels_app.views.oauth_start import channel_login_hint, oauth_start


@login_required
@require_POST
def reauthorize(request: AuthedRequest, channel_id: int) -> HttpResponse:
    channel = access_channel(request.user, channel_id)
    require_manage_channel(request.user, channel)
    if channel.organisation_connection_id is not None:
        # Its access is the organisation's grant: signing in as a person would not restore it.
        messages.error(
            request,
            f"{channel.address} is opened through the organisation connection: there is nothing to reauthorize. "
            "Your company admins were told what to ask your administrator for.",
        )
        return redirect("channel_settings", channel_id=channel.pk)
    provider = get_provider(channel.provider)
    if not provider.uses_oauth:
        return redirect("channel_reauthorize_password", channel_id=channel.pk)
    if not provider.is_configured():
        messages.error(request, f"{provider.label} is not set up for this app yet; ask your administrator.")
        return redirect("channel_settings", channel_id=channel.pk)
    return oauth_start(
        request,
        purpose=Purpose.REAUTHORIZE,
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
    status = imap_login_check(
        form,
        imap=channel_endpoint(channel),
        password=password,
        tries_by=tries_by,
        rejected="The mail server rejected this password. Nothing was changed.",
        unreachable="Nothing was changed; try again in a moment.",
    )
    if status is None:
        channel_reauthorize(channel=channel, credentials=Credentials(password=password), actor=actor, link=link)
    return status


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
