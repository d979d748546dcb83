"""Contact support about a channel that keeps needing reauthorization."""

from functools import partial

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction

from channels_app.models import Channel, SupportRequest, User
from channels_app.selectors import channel_diagnostics

DIAGNOSTICS_HEADING = "Diagnostics gathered by Shared Inbox (not written by the person):"


def _email_support(*, subject: str, body: str, reply_to: str) -> None:
    # Reply-To the person who asked, so support can answer them straight from the email.
    EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [settings.SUPPORT_EMAIL], reply_to=[reply_to]).send()


def support_request_text(request: SupportRequest) -> str:
    """What staff read, in the email and in admin: the person's words quoted, then our diagnostics.

    Every line of the person's text starts with "> " (any character that breaks a line counts), so
    nothing they write can pass for a heading or a diagnostics block of ours.
    """
    requester = request.requester
    name = " ".join(str(requester).split())  # a name stays on its heading's line
    quoted = "\n".join(f"> {line}" for line in request.message.splitlines() or [""])
    return (
        f"Support request #{request.pk} about {request.channel.address}; staff can mark it handled in Django admin.\n\n"
        f"Message from {name} <{requester.email}> (as written):\n{quoted}\n\n"
        f"{DIAGNOSTICS_HEADING}\n{request.diagnostics}\n"
    )


def support_request_create(*, channel: Channel, requester: User, message: str) -> SupportRequest:
    """Store the request with diagnostics we gather ourselves, and email support once it is saved.

    Diagnostics are computed here, never taken from the form, so nobody can slip
    other data (or another channel's) into what staff read as ours.
    """
    diagnostics = channel_diagnostics(channel)
    with transaction.atomic():
        request = SupportRequest.objects.create(
            channel=channel, requester=requester, message=message, diagnostics=diagnostics
        )
        # After commit: no email about a request that was rolled back.
        transaction.on_commit(
            partial(
                _email_support,
                subject=f"Support request: {channel.address} keeps needing reauthorization",
                body=support_request_text(request),
                reply_to=requester.email,
            )
        )
    return request
