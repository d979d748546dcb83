"""Reads of a company's organisation connections: the one of a provider, those Add channel offers, and what
a connection's page counts."""

from dataclasses import dataclass

from channels_app.models import (
    Channel,
    ChannelStatus,
    Company,
    OrganisationConnection,
    OrganisationProvider,
    ReasonCode,
)


def organisation_connection_of(*, company: Company, provider: OrganisationProvider) -> OrganisationConnection | None:
    return OrganisationConnection.objects.filter(company=company, provider=provider).first()


def organisation_connection_or_new(*, company: Company, provider: OrganisationProvider) -> OrganisationConnection:
    """The company's connection of that provider, unsaved when there is none yet."""
    found = organisation_connection_of(company=company, provider=provider)
    return found or OrganisationConnection(company=company, provider=provider)


def usable_connections(company_id: int) -> list[OrganisationConnection]:
    """The company's connections with a key that have worked once (so a domain is verified)."""
    return list(
        OrganisationConnection.objects.filter(company_id=company_id, domains__isnull=False)
        .exclude(secret_ciphertext="")
        .distinct()
        .order_by("provider")
    )


@dataclass(frozen=True)
class ConnectionCounts:
    domains: list[str]
    channels: int
    waiting: int  # channels through it waiting for the administrator


def connection_counts(connection: OrganisationConnection) -> ConnectionCounts:
    if connection.pk is None:
        return ConnectionCounts([], 0, 0)
    return ConnectionCounts(
        list(connection.domains.values_list("domain", flat=True)),
        connection.channels.count(),
        connection.channels.filter(reason_code=ReasonCode.ORGANISATION).count(),
    )


def addresses_through(connection: OrganisationConnection) -> set[str]:
    """The mailboxes of the channels that go through the connection."""
    return set(connection.channels.values_list("address", flat=True)) if connection.pk else set()


def another_working_address(connection: OrganisationConnection, *, but: int) -> str | None:
    """The mailbox of another channel through the connection that was working, if any."""
    others = Channel.objects.filter(organisation_connection=connection, status=ChannelStatus.ACTIVE).exclude(pk=but)
    return others.order_by("pk").values_list("address", flat=True).first()
