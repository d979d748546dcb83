"""Reads of organisation connections: the one of a provider, those Add channel offers, a page's counts."""

from channels_app.models import (
    Channel,
    OrganisationConnection,
    OrganisationDomain,
    OrganisationProvider,
)
from channels_app.selectors.organisation import (
    addresses_through,
    another_working_address,
    connection_counts,
    organisation_connection_of,
    organisation_connection_or_new,
    usable_connections,
)


def test_a_company_without_a_connection_gets_an_unsaved_one_and_nothing_of_another_company(tenancy, google_connection):
    assert (
        organisation_connection_of(company=tenancy.company, provider=OrganisationProvider.GOOGLE) == google_connection
    )
    new = organisation_connection_or_new(company=tenancy.company, provider=OrganisationProvider.MICROSOFT)
    assert new.pk is None and new.company == tenancy.company
    assert connection_counts(new).channels == 0 and addresses_through(new) == set()
    other = tenancy.outsider.company_membership.company
    assert organisation_connection_of(company=other, provider=OrganisationProvider.GOOGLE) is None


def test_add_channel_offers_only_connections_with_a_key_and_a_verified_domain(
    tenancy, google_connection, microsoft_connection
):
    assert usable_connections(tenancy.company.pk) == [google_connection, microsoft_connection]
    OrganisationDomain.objects.filter(connection=microsoft_connection).delete()
    OrganisationDomain.objects.create(connection=google_connection, domain="acme.example")  # two domains: one row
    OrganisationConnection.objects.filter(pk=google_connection.pk).update(secret_ciphertext="")
    assert usable_connections(tenancy.company.pk) == []


def test_a_page_counts_its_domains_channels_and_those_waiting(microsoft_connection, one_waiting):
    counts = connection_counts(microsoft_connection)
    assert (counts.domains, counts.channels, counts.waiting) == (["acme.test"], 2, 1)
    assert addresses_through(microsoft_connection) == {"orders@acme.test", "sales@acme.test"}


def test_another_working_mailbox_is_one_of_an_active_channel_but_the_one_asking(microsoft_connection, one_waiting):
    orders, sales = (Channel.objects.get(address=a) for a in ("orders@acme.test", "sales@acme.test"))
    assert another_working_address(microsoft_connection, but=orders.pk) == "sales@acme.test"
    assert another_working_address(microsoft_connection, but=sales.pk) is None  # orders waits
