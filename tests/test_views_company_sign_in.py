"""The company's Sign-in settings page: company admins only; domains, issuer and secret checked."""

import pytest
from django.urls import reverse

from channels_app.models import CompanySignIn, CompanySignInDomain
from channels_app.services.company_sign_in import company_sign_in_save, company_sign_in_secret
from tests.network_fakes import closed_port
from tests.test_services_company_sign_in import discovery_server

URL = reverse("company_sign_in")


def _form(**changes: str) -> dict[str, str]:
    return {
        "domains": "acme.test",
        "issuer_url": "https://acme.okta.com",
        "client_id": "client-1",
        "client_secret": "secret-1",
        **changes,
    }


@pytest.mark.django_db
def test_only_the_company_admin_opens_the_page_members_get_404(tenancy, make_user):
    assert tenancy.client_for(tenancy.admin).get(URL).status_code == 200
    assert tenancy.client_for(tenancy.member).get(URL).status_code == 404
    assert tenancy.client_for(tenancy.member).post(URL, _form()).status_code == 404
    assert tenancy.client_for(make_user("nobody@else.test")).get(URL).status_code == 404
    assert not CompanySignIn.objects.exists()


@pytest.mark.django_db
def test_an_admin_of_another_company_sees_and_changes_only_their_own(tenancy):
    company_sign_in_save(
        company=tenancy.company, issuer_url="https://acme.okta.com", client_id="acme", client_secret="s", domains=[]
    )
    outsider = tenancy.client_for(tenancy.outsider)
    assert "acme.okta.com" not in outsider.get(URL).content.decode()
    outsider.post(reverse("company_sign_in_switch", args=["off"]))
    outsider.post(URL, _form(domains="globex.test", client_id="globex"))
    assert CompanySignIn.objects.get(company=tenancy.company).client_id == "acme"


@pytest.mark.django_db
def test_the_admin_saves_the_settings_and_the_secret_is_kept_encrypted(tenancy):
    client = tenancy.client_for(tenancy.admin)
    response = client.post(URL, _form(domains="Acme.TEST, acme-labs.test\nacme.test"), follow=True)
    assert "Saved the identity provider" in response.content.decode()
    sign_in = CompanySignIn.objects.get(company=tenancy.company)
    assert sorted(sign_in.domains.values_list("domain", flat=True)) == ["acme-labs.test", "acme.test"]
    assert "secret-1" not in sign_in.client_secret_ciphertext and company_sign_in_secret(sign_in) == "secret-1"
    page = client.get(URL).content.decode()
    assert "secret-1" not in page and "Leave empty to keep the current one" in page
    assert f"/accounts/oidc/company-{tenancy.company.pk}/login/callback/" in page
    client.post(URL, _form(client_secret=""))
    assert company_sign_in_secret(CompanySignIn.objects.get(pk=sign_in.pk)) == "secret-1"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"domains": "not a domain!"}, "is not a domain name"),
        ({"domains": " , "}, "Name at least one domain"),
        ({"issuer_url": "http://acme.okta.com"}, "must start with https://"),
        ({"issuer_url": "https://acme.okta.com/?tenant=1"}, "no ?query or #fragment"),
        ({"issuer_url": "acme"}, "Enter the issuer&#x27;s address"),
        ({"client_secret": ""}, "Enter the client secret"),
    ],
)
def test_bad_input_is_named_and_nothing_is_saved(tenancy, changes, error):
    response = tenancy.client_for(tenancy.admin).post(URL, _form(**changes))
    assert response.status_code == 200 and error in response.content.decode()
    assert not CompanySignIn.objects.exists()
    assert _form(**changes)["client_id"] in response.content.decode()  # what was typed stays in the form


@pytest.mark.django_db
def test_a_domain_another_company_signs_in_cannot_be_taken(tenancy):
    globex = tenancy.outsider.company_membership.company
    company_sign_in_save(
        company=globex, issuer_url="https://g.example", client_id="g", client_secret="s", domains=["x.test"]
    )
    response = tenancy.client_for(tenancy.admin).post(URL, _form(domains="acme.test x.test"))
    assert "Another company signs in people of x.test" in response.content.decode()
    assert list(CompanySignInDomain.objects.values_list("domain", flat=True)) == ["x.test"]


@pytest.mark.django_db
def test_a_domain_with_people_of_another_company_cannot_be_taken_staff_aside(tenancy, make_user):
    make_user("root@acme.test", is_staff=True)  # staff keep their password: they do not block the domain
    assert tenancy.client_for(tenancy.admin).post(URL, _form()).status_code == 302
    response = tenancy.client_for(tenancy.admin).post(URL, _form(domains="globex.test"))
    assert "Some people with an address at globex.test are not members of Acme" in response.content.decode()


@pytest.mark.django_db
def test_turning_on_checks_discovery_and_says_why_it_failed(tenancy):
    client = tenancy.client_for(tenancy.admin)
    on = reverse("company_sign_in_switch", args=["on"])
    assert "Save the identity provider" in client.post(on, follow=True).content.decode()
    client.post(URL, _form(issuer_url=f"http://127.0.0.1:{closed_port()}"))
    page = client.post(on, follow=True).content.decode()
    assert "discovery check failed: Could not reach" in page
    assert not CompanySignIn.objects.get().enabled
    with discovery_server() as issuer:
        client.post(URL, _form(issuer_url=issuer, client_secret=""))
        assert (
            "document is in order"
            in client.post(reverse("company_sign_in_switch", args=["check"]), follow=True).content.decode()
        )
        assert "is on" in client.post(on, follow=True).content.decode()
    assert CompanySignIn.objects.get().enabled
    client.post(reverse("company_sign_in_switch", args=["off"]))
    assert not CompanySignIn.objects.get().enabled
    assert client.post(reverse("company_sign_in_switch", args=["sideways"])).status_code == 404


@pytest.mark.django_db
def test_the_sidebar_offers_the_sign_in_page_in_the_company_space_only(tenancy):
    admin = tenancy.client_for(tenancy.admin)
    assert URL in admin.get(reverse("company_channels")).content.decode()
    assert URL not in admin.get(reverse("personal_channels")).content.decode()


@pytest.mark.django_db
def test_moving_a_turned_on_sign_in_to_an_issuer_that_fails_discovery_turns_it_off_saying_why(tenancy):
    client = tenancy.client_for(tenancy.admin)
    with discovery_server() as issuer:
        client.post(URL, _form(issuer_url=issuer))
        client.post(reverse("company_sign_in_switch", args=["on"]))
        client.post(URL, _form(issuer_url=issuer, client_id="client-2", client_secret=""))  # same issuer: no check
        assert CompanySignIn.objects.get().enabled
    page = client.post(URL, _form(issuer_url=f"http://127.0.0.1:{closed_port()}"), follow=True).content.decode()
    assert "Saved the identity provider" in page and "is now off: Could not reach" in page
    assert not CompanySignIn.objects.get().enabled
