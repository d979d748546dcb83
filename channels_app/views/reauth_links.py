"""Reauthorization links: sending and withdrawing them from a channel's Settings tab, and the page the
link opens for whoever holds the account, who needs no account with us."""

from typing import cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from channels_app.forms import ImapPasswordForm, LinkSendForm
from channels_app.http import AuthedRequest
from channels_app.models import ReauthorizationLink, User
from channels_app.permissions import access_channel, require_manage_channel, visible_channels
from channels_app.providers import ProviderFailure, get_provider
from channels_app.selectors import link_of_pending
from channels_app.services.connect import WrongAccount
from channels_app.services.oauth_state import PendingAuthorization, Purpose
from channels_app.services.reauth_links import (
    LinkNotSent,
    LinkProblem,
    LinkUnusable,
    link_check_open,
    link_from_token,
    link_opened,
    link_outcome_tell,
    link_send,
    link_send_throttle,
    link_withdraw,
)
from channels_app.services.reauthorize import oauth_reauthorize_finish
from channels_app.services.throttle import throttle_hit
from channels_app.views.oauth_answers import failure_message, provider_error
from channels_app.views.oauth_start import channel_login_hint, oauth_start
from channels_app.views.reauthorize import password_reauthorize_attempt

# Sign-ins started from one link in an hour: each refused one emails the sender and the admins.
STARTS_PER_HOUR = 10


@login_required
@require_POST
def send(request: AuthedRequest, channel_id: int) -> HttpResponse:
    channel = access_channel(request.user, channel_id)
    require_manage_channel(request.user, channel)
    if channel.organisation_connection_id is not None:
        # Nobody's sign-in opens it: a link would ask someone to fix what only the organisation's grant can.
        messages.error(request, f"{channel.address} is opened through the organisation connection: no link to send.")
        return redirect("channel_settings", channel_id=channel.pk)
    form = LinkSendForm(request.POST)
    status = 200
    if form.is_valid():
        sent_to = form.cleaned_data["email"]
        throttled = link_send_throttle(sender_id=request.user.pk, channel_id=channel.pk)
        if throttled is not None:
            form.add_error(None, f"Too many links sent this hour: try again in {throttled.retry_after_minutes} min.")
            status = 429
        else:
            try:
                sent = link_send(channel=channel, sender=request.user, sent_to=sent_to)
            except LinkNotSent as error:
                form.add_error(None, f"{error} No link was made; please try again.")
            else:
                until = f"{sent.link.expires_at:%b %-d, %Y %H:%M} UTC"
                messages.success(request, f"Sent a reauthorization link to {sent_to}. It works once, until {until}.")
                return redirect(reverse("channel_settings", args=[channel.pk]) + "#reauthorization-link")
    # Imported here: channel_pages renders the Settings tab, which holds this form.
    from channels_app.views.channel_pages import channel_settings

    response = channel_settings(request, channel_id=channel.pk, link_form=form)
    response.status_code = status
    return response


@login_required
@require_POST
def withdraw(request: AuthedRequest, channel_id: int, link_id: int) -> HttpResponse:
    channel = access_channel(request.user, channel_id)
    require_manage_channel(request.user, channel)
    link = get_object_or_404(ReauthorizationLink, pk=link_id, channel=channel)
    if link_withdraw(link=link, actor=request.user):
        messages.success(request, f"Withdrew the link sent to {link.sent_to}: it no longer works.")
    else:
        messages.info(request, f"The link sent to {link.sent_to} was already used or withdrawn.")
    return redirect(reverse("channel_settings", args=[channel.pk]) + "#reauthorization-link")


def _private(response: HttpResponse) -> HttpResponse:
    # The page's address is the link itself: never sent on to another site (the provider's sign-in
    # included), never kept in a cache. Not "no-referrer": Chromium then sends `Origin: null` with the
    # page's own form, which Django's CSRF check rightly refuses.
    response["Referrer-Policy"] = "same-origin"
    response["X-Robots-Tag"] = "noindex"
    return response


def _unusable(request: HttpRequest, unusable: LinkUnusable) -> HttpResponse:
    status = 404 if unusable.problem is LinkProblem.INVALID else 410
    context = {"problem": unusable.problem.value, "link": unusable.link}
    return _private(render(request, "channels_app/reauth_link/unusable.html", context, status=status))


@never_cache
@sensitive_post_parameters("password")
def landing(request: HttpRequest, token: str) -> HttpResponse:
    """The page the link opens: who asks, for which channel; then the provider's sign-in (or, for an
    IMAP channel, the new password)."""
    try:
        link = link_from_token(token)
    except LinkUnusable as unusable:
        return _unusable(request, unusable)
    channel = link.channel
    provider = get_provider(channel.provider)
    link_opened(link)
    form = ImapPasswordForm(request.POST or None) if not provider.uses_oauth else None
    status = 200
    if request.method == "POST":
        throttled = throttle_hit(("reauth-link-start", link.pk), STARTS_PER_HOUR, 3600)
        if throttled is not None:
            status = 429
            messages.error(request, f"Too many tries with this link: try again in {throttled.retry_after_minutes} min.")
        elif form is None:
            if provider.is_configured():
                return _start_sign_in(request, link)
            status = 503
            messages.error(request, f"{provider.label} is not set up for this app just now; please try again later.")
        elif form.is_valid():
            try:
                result = password_reauthorize_attempt(form, channel, tries_by=f"link-{link.pk}", actor=None, link=link)
            except LinkUnusable as unusable:
                return _unusable(request, unusable)
            if result is None:
                return _finished(request, link, succeeded=True, detail="")
            status = result
            if "password" in form.errors:  # the server refused it: the sender should know
                link_outcome_tell(link, succeeded=False, detail="the mail server rejected the password.")
    context = {"link": link, "channel": channel, "provider": provider, "form": form}
    return _private(render(request, "channels_app/reauth_link/landing.html", context, status=status))


def _start_sign_in(request: HttpRequest, link: ReauthorizationLink) -> HttpResponse:
    channel = link.channel  # an open link's channel still has the link's address (link_check_open)
    return _private(
        oauth_start(
            request,
            purpose=Purpose.LINK,
            provider_kind=channel.provider,
            login_hint=channel_login_hint(channel),
            channel_id=channel.pk,
            link_id=link.pk,
        )
    )


def link_finish(request: HttpRequest, pending: PendingAuthorization) -> HttpResponse:
    """The provider sent the link's holder back (views/oauth_callback.py checked the state)."""
    if pending.link_id is None or pending.channel_id is None:
        return _unusable(request, LinkUnusable(LinkProblem.INVALID))
    link = link_of_pending(link_id=pending.link_id, channel_id=pending.channel_id)
    if link is None:
        return _unusable(request, LinkUnusable(LinkProblem.INVALID))
    try:
        link_check_open(link)
    except LinkUnusable as unusable:
        return _unusable(request, unusable)
    provider = get_provider(link.channel.provider)
    if problem := provider_error(request, provider):
        return _finished(request, link, succeeded=False, detail=problem)
    try:
        oauth_reauthorize_finish(channel=link.channel, pending=pending, code=request.GET["code"], actor=None, link=link)
    except WrongAccount as wrong:
        return _finished(request, link, succeeded=False, detail=wrong.message(through_link=True))
    except LinkUnusable as unusable:
        return _unusable(request, unusable)
    except ProviderFailure as failure:
        return _finished(request, link, succeeded=False, detail=failure_message(failure, provider.label))
    return _finished(request, link, succeeded=True, detail="")


def _finished(request: HttpRequest, link: ReauthorizationLink, *, succeeded: bool, detail: str) -> HttpResponse:
    link_outcome_tell(link, succeeded=succeeded, detail=detail)
    if succeeded and visible_channels(cast(User, request.user)).filter(pk=link.channel_id).exists():
        # Whoever holds the account may also see the channel here: its Overview shows the import, then the receipt.
        messages.success(request, f"Reauthorized: {link.channel.address} is active again.")
        return _private(redirect("channel_overview", channel_id=link.channel_id))
    context = {"link": link, "channel": link.channel, "succeeded": succeeded, "detail": detail}
    return _private(render(request, "channels_app/reauth_link/finished.html", context))
