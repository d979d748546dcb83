"""Contact support about a channel that keeps needing reauthorization."""

from functools import partial

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction

from channels_app.models import Channel, SupportRequest, User
from channels_app.selectors import channel_diagnostics


def _email_support(*, subject: str, body: str, reply_to: str) -> None:
    # Reply-To the person who asked, so support can answer them straight from the email.
    EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [settings.SUPPORT_EMAIL], reply_to=[reply_to]).send()


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
        body = (
            f"From: {requester} <{requester.email}>\n"
            f"Channel: {channel.address}\n\n"
            f"Message:\n{message}\n\n"
            f"Diagnostics:\n{diagnostics}\n\n"
            f"Support request #{request.pk}; staff can mark it handled in Django admin.\n"
        )
        # After commit: no email about a request that was rolled back.
        transaction.on_commit(
            partial(
                _email_support,
                subject=f"Support request: {channel.address} keeps needing reauthorization",
                body=body,
                reply_to=requester.email,
            )
        )
    return request
