"""Who an identity provider's answer signs in (auth_adapter.CompanySignInAdapter), on answers made by hand;
test_company_sign_in_flow.py runs the same against Local mail."""

import pytest
from allauth.account.models import EmailAddress
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.models import SocialAccount, SocialLogin
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.db import SessionStore
from django.test import RequestFactory

from channels_app.auth_adapter import CompanySignInAdapter, company_social_app
from channels_app.models import User
from channels_app.services.company_sign_in import company_sign_in_save


@pytest.fixture
def sign_in(tenancy):
    found = company_sign_in_save(
        company=tenancy.company,
        issuer_url="https://acme.okta.com",
        client_id="c",
        client_secret="s",
        domains=["acme.test"],
    )
    found.enabled = True
    found.save()
    return found


def _answer(
    sign_in,
    email: str | None,
    *,
    verified: bool = True,
    process: str = "login",
    uid: str = "sub-1",
    id_token: dict | None = None,
):
    """What allauth makes of the provider's answer before the adapter is asked."""
    addresses = [EmailAddress(email=email, verified=verified, primary=True)] if email else []
    provider = company_social_app(sign_in).get_provider(RequestFactory().get("/"))
    account = SocialAccount(provider=sign_in.provider_id, uid=uid, extra_data={"id_token": id_token or {}})
    login = SocialLogin(user=User(email=email or ""), account=account, provider=provider)
    login.email_addresses = addresses
    login.state = {"process": process}
    return login


def _refusal(rf, login) -> tuple[int, str]:
    request = rf.get("/accounts/oidc/callback/")
    request.user, request.session = AnonymousUser(), SessionStore()
    with pytest.raises(ImmediateHttpResponse) as refused:
        login.lookup()
        CompanySignInAdapter().pre_social_login(request, login)
    return refused.value.response.status_code, refused.value.response.content.decode()


@pytest.mark.django_db
def test_a_verified_member_address_links_the_provider_account_to_the_person(rf, sign_in, tenancy):
    request = rf.get("/")
    request.user, request.session = AnonymousUser(), SessionStore()
    login = _answer(sign_in, "Member@Acme.test")
    login.lookup()
    CompanySignInAdapter().pre_social_login(request, login)
    assert login.is_existing and login.user == tenancy.member
    assert SocialAccount.objects.get(provider=sign_in.provider_id, uid="sub-1").user == tenancy.member


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("email", "verified", "words"),
    [
        (None, True, "did not give a verified email address"),
        ("member@acme.test", False, "did not give a verified email address"),
        ("member@elsewhere.test", True, "an address outside its domains"),
        ("nobody@acme.test", True, "nobody@acme.test has no account in Acme here"),
    ],
)
def test_answers_that_name_no_verified_member_of_the_domain_are_refused(rf, sign_in, email, verified, words):
    status, page = _refusal(rf, _answer(sign_in, email, verified=verified))
    assert status == 403 and words in page
    assert not SocialAccount.objects.exists()


@pytest.mark.django_db
def test_a_member_of_another_company_at_the_domain_is_refused(rf, sign_in, tenancy, make_user, make_company_membership):
    lee = make_user("lee@acme.test")
    make_company_membership(user=lee, company=tenancy.outsider.company_membership.company)
    status, page = _refusal(rf, _answer(sign_in, lee.email))
    assert status == 403 and "lee@acme.test has no account in Acme here" in page


@pytest.mark.django_db
def test_a_provider_account_linked_to_someone_else_does_not_switch_person(rf, sign_in, tenancy):
    SocialAccount.objects.create(provider=sign_in.provider_id, uid="sub-1", user=tenancy.admin)
    status, page = _refusal(rf, _answer(sign_in, tenancy.member.email))
    assert status == 403 and "linked to someone other than member@acme.test" in page


@pytest.mark.django_db
def test_connecting_the_provider_to_a_signed_in_account_is_refused(rf, sign_in, tenancy):
    status, page = _refusal(rf, _answer(sign_in, tenancy.member.email, process="connect"))
    assert status == 403 and "only for signing in" in page


@pytest.mark.django_db
def test_a_turned_off_sign_in_refuses_its_late_answers(rf, sign_in, tenancy):
    sign_in.enabled = False
    sign_in.save()
    status, _page = _refusal(rf, _answer(sign_in, tenancy.member.email))
    assert status == 404


@pytest.mark.django_db
def test_allauth_sees_only_the_turned_on_companies_apps_with_their_decrypted_secret(sign_in, tenancy):
    adapter = CompanySignInAdapter()
    [app] = adapter.list_apps(None, provider=sign_in.provider_id)
    assert (app.provider, app.client_id, app.secret) == ("openid_connect", "c", "s")
    assert app.settings["server_url"] == "https://acme.okta.com" and app.pk is None
    assert adapter.list_apps(None, provider="company-999") == []
    sign_in.enabled = False
    sign_in.save()
    assert adapter.list_apps(None) == []


@pytest.mark.django_db
def test_entra_s_domain_owner_verified_claim_stands_for_email_verified_only_when_that_is_absent(rf, sign_in, tenancy):
    request = rf.get("/")
    request.user, request.session = AnonymousUser(), SessionStore()
    entra = _answer(sign_in, tenancy.member.email, verified=False, id_token={"xms_edov": True})
    entra.lookup()
    CompanySignInAdapter().pre_social_login(request, entra)
    assert entra.user == tenancy.member
    said_no = {"xms_edov": True, "email_verified": False}
    status, page = _refusal(rf, _answer(sign_in, tenancy.admin.email, verified=False, uid="sub-2", id_token=said_no))
    assert status == 403 and "did not give a verified email address" in page
    status, page = _refusal(
        rf, _answer(sign_in, tenancy.admin.email, verified=False, uid="sub-3", id_token={"xms_edov": "true"})
    )
    assert status == 403
