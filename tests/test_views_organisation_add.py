"""Add channel through the organisation connection: only addresses of its verified domains, only once the
mailbox opens through it (a Microsoft 365 shared mailbox with no delegate included); a mailbox the grant does
not cover is refused with the instruction that would cover it."""

from django.urls import reverse

from channels_app.models import Channel
from channels_app.providers.recorded import recorded_entries
from channels_app.services.credentials import channel_credentials

TOKEN = recorded_entries("microsoft", "organisation_token")["app_token"]


def _add(client, connection, address, **fields):
    data = {"connection": connection.pk, "address": address, "inbox_name": "", "import_days": 7, **fields}
    return client.post(reverse("company:add_organisation_channel"), data)


def test_a_shared_mailbox_is_added_through_the_connection_without_any_sign_in(
    tenancy, organisation_mail, microsoft_connection
):
    organisation_mail.fake.answer = TOKEN
    response = _add(
        tenancy.client_for(tenancy.admin), microsoft_connection, "Billing@acme.test", workspace=tenancy.workspace.pk
    )
    channel = Channel.objects.get(address="billing@acme.test")
    assert response.status_code == 302 and response.url == reverse("channel_overview", args=[channel.pk])
    assert channel.organisation_connection == microsoft_connection and channel.provider == "microsoft"
    assert not channel.delegate_address and channel_credentials(channel).access_token == ""
    assert organisation_mail.imap.logins[-1][0] == "billing@acme.test"  # XOAUTH2 names the mailbox itself
    assert "Opened through the organisation connection" in channel.events.first().reason


def test_an_address_outside_the_verified_domains_is_refused(tenancy, organisation_mail, microsoft_connection):
    response = _add(
        tenancy.client_for(tenancy.admin), microsoft_connection, "x@elsewhere.test", workspace=tenancy.workspace.pk
    )
    assert response.status_code == 400 and "is not in a verified domain" in response.content.decode()
    assert not organisation_mail.fake.posts and not Channel.objects.filter(address="x@elsewhere.test").exists()


def test_a_mailbox_the_grant_does_not_cover_is_refused_with_the_line_that_would(
    tenancy, organisation_mail, microsoft_connection
):
    organisation_mail.fake.answer = TOKEN
    organisation_mail.imap.refuse = True
    response = _add(
        tenancy.client_for(tenancy.admin), microsoft_connection, "sales@acme.test", workspace=tenancy.workspace.pk
    )
    page = response.content.decode()
    assert response.status_code == 400 and "does not cover sales@acme.test" in page
    assert "Add-MailboxPermission -Identity &quot;sales@acme.test&quot;" in page
    assert not Channel.objects.filter(address="sales@acme.test").exists()


def test_the_add_channel_page_links_to_it_and_says_when_there_is_no_connection(tenancy):
    client = tenancy.client_for(tenancy.admin)
    assert "/settings/company/channels/add/organisation/" in client.get(reverse("company:add_channel")).content.decode()
    page = client.get(reverse("company:add_organisation_channel")).content.decode()
    assert 'data-testid="no-organisation-connection"' in page


def test_a_member_adds_only_their_own_address_and_an_outsider_nothing(tenancy, organisation_mail, google_connection):
    organisation_mail.fake.answer = recorded_entries("gmail", "organisation_token")["delegated_token"]
    member = tenancy.client_for(tenancy.member)
    data = {"connection": google_connection.pk, "address": "ceo@acme.test", "import_days": 7}
    response = member.post(reverse("personal:add_organisation_channel"), data)
    assert (
        response.status_code == 400
        and "Only your company&#x27;s admins can add ceo@acme.test" in response.content.decode()
    )
    assert not organisation_mail.fake.posts
    Channel.objects.filter(pk=tenancy.member_channel.pk).delete()
    response = member.post(reverse("personal:add_organisation_channel"), {**data, "address": "member@acme.test"})
    assert response.status_code == 302
    assert Channel.objects.get(address="member@acme.test").inbox.owner == tenancy.member
    outsider = tenancy.client_for(tenancy.outsider)
    response = outsider.post(reverse("personal:add_organisation_channel"), {**data, "address": "outsider@globex.test"})
    assert response.status_code == 200 and not Channel.objects.filter(address="outsider@globex.test").exists()
    assert member.get(reverse("company:add_organisation_channel")).status_code == 404


def test_a_channel_through_the_connection_is_never_sent_to_reauthorize(tenancy, google_connection):
    channel = tenancy.member_channel
    channel.organisation_connection = google_connection
    channel.save(update_fields=["organisation_connection"])
    client = tenancy.client_for(tenancy.member)
    response = client.post(reverse("channel_reauthorize", args=[channel.pk]), follow=True)
    page = response.content.decode()
    assert "nothing to reauthorize" in page and response.redirect_chain[-1][0] == reverse(
        "channel_settings", args=[channel.pk]
    )
    assert 'data-testid="reauthorize"' not in page


def test_its_settings_say_who_opens_it_and_offer_no_link(tenancy, google_connection):
    channel = tenancy.member_channel
    channel.organisation_connection = google_connection
    channel.save(update_fields=["organisation_connection"])
    client = tenancy.client_for(tenancy.member)
    page = client.get(reverse("channel_settings", args=[channel.pk])).content.decode()
    assert 'data-testid="organisation-connection"' in page and 'data-testid="reauthorization-link"' not in page
    response = client.post(reverse("reauth_link_send", args=[channel.pk]), {"email": "it@acme.test"}, follow=True)
    assert "no link to send" in response.content.decode()
    assert not channel.reauthorization_links.exists()
