"""allauth's adapters: who may sign in, and how (password, or the company's identity provider)."""

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialApp, SocialLogin
from allauth.socialaccount.providers.base import AuthProcess
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.shortcuts import render

from channels_app.models import CompanySignIn, User
from channels_app.selectors import company_sign_in_for_email, email_domain, keeps_password_sign_in
from channels_app.services.company_sign_in import company_sign_in_secret

OPENID_CONNECT = "openid_connect"


class NoSignupAccountAdapter(DefaultAccountAdapter):
    """People are added to a company by its admins, so public sign-up is closed."""

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return False

    def authenticate(self, request: HttpRequest, **credentials: Any) -> AbstractBaseUser | None:
        """A right password is still refused where the person's domain signs in through its company's
        identity provider (which may require MFA, or have ended the person's access): only staff keep it."""
        user = super().authenticate(request, **credentials)
        if isinstance(user, User) and not keeps_password_sign_in(user):
            sign_in = company_sign_in_for_email(user.email)
            if sign_in is not None:
                raise ValidationError(
                    f"People at {email_domain(user.email)} sign in through {sign_in.company.name}'s identity "
                    "provider, not with a password here: leave the password empty and click Sign in."
                )
        return user


def company_social_app(sign_in: CompanySignIn) -> SocialApp:
    """allauth's app for a company's identity provider, built from our settings and never saved: the
    client secret stays encrypted in CompanySignIn (allauth's SocialApp table keeps it in plain text).

    Settings of allauth's OpenID Connect provider: https://docs.allauth.org/en/latest/socialaccount/providers/openid_connect.html
    """
    return SocialApp(
        provider=OPENID_CONNECT,
        provider_id=sign_in.provider_id,
        name=sign_in.company.name,
        client_id=sign_in.client_id,
        secret=company_sign_in_secret(sign_in),
        # PKCE too: okta, Entra ID and Google accept it, and some providers require it.
        settings={"server_url": sign_in.issuer_url, "oauth_pkce_enabled": True},
    )


def _refuse(request: HttpRequest, reason: str, status: int = 403) -> ImmediateHttpResponse:
    return ImmediateHttpResponse(
        render(request, "account/company_sign_in_refused.html", {"reason": reason}, status=status)
    )


def _verified_email(sociallogin: SocialLogin) -> str | None:
    """The address the identity provider vouches for: `email` with `email_verified` true, or, from Entra
    ID, which never sends `email_verified` for work accounts, with its optional claim `xms_edov` true (the
    address's domain is verified by the tenant's owner; an admin adds it to the app registration).
    https://learn.microsoft.com/en-us/entra/identity-platform/optional-claims-reference"""
    claims = {**(sociallogin.account.extra_data or {}).get("id_token", {})}
    for address in sociallogin.email_addresses:
        domain_verified = "email_verified" not in claims and claims.get("xms_edov") is True
        if address.email and (address.verified or domain_verified):
            return address.email.strip().lower()
    return None


class CompanySignInAdapter(DefaultSocialAccountAdapter):
    """Sign-in through a company's identity provider signs in an existing person of that company and
    nobody else: no account is created, and the answer must name a verified address of the company's
    domains that belongs to one of its members."""

    def list_apps(
        self, request: HttpRequest | None, provider: str | None = None, client_id: str | None = None
    ) -> list[SocialApp]:
        sign_ins = CompanySignIn.objects.filter(enabled=True).select_related("company")
        if provider not in (None, OPENID_CONNECT):
            sign_ins = sign_ins.filter(company_id=_company_id(provider) or 0)
        if client_id is not None:
            sign_ins = sign_ins.filter(client_id=client_id)
        return [company_social_app(sign_in) for sign_in in sign_ins]

    def is_open_for_signup(self, request: HttpRequest, sociallogin: SocialLogin) -> bool:
        return False

    def pre_social_login(self, request: HttpRequest, sociallogin: SocialLogin) -> None:
        sign_in = (
            CompanySignIn.objects.select_related("company")
            .filter(enabled=True, company_id=_company_id(sociallogin.account.provider) or 0)
            .first()
        )
        if sign_in is None:
            raise _refuse(request, "Sign-in through this identity provider is not on.", status=404)
        if sociallogin.state.get("process") != AuthProcess.LOGIN:
            raise _refuse(request, "A company's identity provider is only for signing in.")
        company = sign_in.company.name
        email = _verified_email(sociallogin)
        if email is None:
            raise _refuse(
                request,
                f"{company}'s identity provider did not give a verified email address, so we cannot tell who "
                "you are here. Ask your IT administrator to release the email claim with email_verified "
                "(Entra ID: the optional claims email and xms_edov).",
            )
        if not sign_in.domains.filter(domain=email_domain(email)).exists():
            raise _refuse(
                request, f"{company}'s identity provider signed you in as {email}, an address outside its domains."
            )
        user = User.objects.filter(email__iexact=email, company_membership__company=sign_in.company).first()
        if user is None:
            raise _refuse(
                request,
                f"{email} has no account in {company} here. Accounts are not created at sign-in: ask an admin "
                f"of {company} to add you.",
            )
        if sociallogin.is_existing and sociallogin.user is not None and sociallogin.user.pk != user.pk:
            raise _refuse(request, f"This identity provider account is linked to someone other than {email}.")
        if not sociallogin.is_existing:
            # Link the provider's account (its `sub`) to the person. Not SocialLogin.connect: that also
            # emails "an account was connected" during the request, for what is only a sign-in.
            sociallogin.user = user
            sociallogin.save(request, connect=True)


def _company_id(provider_id: str | None) -> int | None:
    """The company of an allauth provider id `company-<id>` (CompanySignIn.provider_id), else None
    (callers look up `or 0`, an id no row has)."""
    prefix, _, number = (provider_id or "").partition("-")
    return int(number) if prefix == "company" and number.isdigit() else None
