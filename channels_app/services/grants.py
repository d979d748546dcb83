"""The tokens a provider gives back at the end of an OAuth round trip, connecting or reauthorizing alike:
whose they are, and giving back those we do not keep (`grant_discard`), so no grant we let go of stays alive
at the provider."""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.db.models import Q

from channels_app.models import Channel
from channels_app.providers import Credentials, MailProvider, RevokeOutcome, get_provider
from channels_app.services.oauth_state import PendingAuthorization

logger = logging.getLogger(__name__)


def grant_discard(*, provider_kind: str, credentials: Credentials, address: str) -> RevokeOutcome:
    """Give back a grant we will not keep (a stray token, or tokens a reauthorization replaced).

    Where revoking ends the whole grant of an account for our app (Google), not while a channel uses that
    account (as its address, or as the delegate opening a shared mailbox): it would cut that channel off.
    Elsewhere revoking ends that one token only, so it is always given back.
    """
    provider = get_provider(provider_kind)
    if provider.revocation_ends_grant:
        same_account = Q(address__iexact=address) | Q(delegate_address__iexact=address)
        if Channel.objects.filter(same_account, provider=provider_kind).exclude(credentials_ciphertext="").exists():
            return RevokeOutcome.NOTHING_TO_REVOKE
    outcome = provider.revoke(credentials)
    logger.info("Gave back a %s grant we do not keep: %s", provider_kind, outcome.value)
    return outcome


@dataclass(frozen=True)
class Grant:
    """The tokens a sign-in brought back, and the account that signed in (`used`)."""

    provider_kind: str
    provider: MailProvider
    credentials: Credentials
    used: str


def grant_receive(*, provider_kind: str, pending: PendingAuthorization, code: str) -> Grant:
    """Exchange the code the provider sent the person back with, and ask whose tokens they are."""
    provider = get_provider(provider_kind)
    credentials = provider.exchange_code(
        code=code, redirect_uri=pending.redirect_uri, code_verifier=pending.code_verifier
    )
    return Grant(provider_kind, provider, credentials, provider.account_address(credentials))


@contextmanager
def grant_given_back_on(grant: Grant, *refusals: type[Exception]) -> Iterator[None]:
    """A step that decides whether we keep the grant: when it raises one of `refusals` (the account may
    not hold the channel, or the write lost to another), the tokens go back to the provider and the refusal
    goes on to the caller."""
    try:
        yield
    except refusals:
        grant_discard(provider_kind=grant.provider_kind, credentials=grant.credentials, address=grant.used)
        raise
