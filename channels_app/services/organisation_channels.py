"""Add channel through the organisation connection: only for addresses of the connection's verified domains,
and only once the connection opens the mailbox; a mailbox the grant does not cover is refused with the
instruction that would cover it."""

from channels_app.models import Channel, OrganisationConnection, User, Workspace
from channels_app.permissions import is_company_admin
from channels_app.providers import Credentials
from channels_app.selectors import email_domain
from channels_app.services.connect import channel_create
from channels_app.services.organisation_health import covered_or_refusal


class NotCovered(Exception):
    """The connection cannot open this address; the message says why and what would cover it."""


def organisation_channel_create(
    *,
    actor: User,
    workspace: Workspace | None,
    connection: OrganisationConnection,
    address: str,
    inbox_name: str,
    import_days: int | None,
) -> Channel:
    """Open the mailbox through the connection (sign-in and INBOX), then make the channel; DuplicateChannel
    as any Add channel.

    The connection opens every mailbox the grant covers, whoever asks: only the company's admins may add any
    of them; anyone else only their own address (nobody reads a colleague's mail through it)."""
    address = address.strip().lower()
    if address != actor.email.lower() and not is_company_admin(actor, connection.company_id):
        raise NotCovered(
            f"Only your company's admins can add {address} through the organisation connection: you can add your "
            f"own address ({actor.email}), or ask a company admin."
        )
    domains = set(connection.domains.values_list("domain", flat=True))
    if email_domain(address) not in domains:
        known = ", ".join(sorted(domains)) or "none yet"
        raise NotCovered(
            f"{address} is not in a verified domain of this organisation connection (verified: {known}). Test a "
            "mailbox of its domain on the Organisation connection page first: a test that opens one verifies it."
        )
    refusal = covered_or_refusal(connection, address)
    if refusal:
        raise NotCovered(refusal)
    return channel_create(
        actor=actor,
        workspace=workspace,
        inbox_name=inbox_name,
        import_days=import_days,
        provider=connection.organisation_provider.provider_kind,
        address=address,
        credentials=Credentials(),
        organisation_connection=connection,
    )
