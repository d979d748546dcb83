"""Company sign-in: a company admin points the company's email domains at its OpenID Connect identity
provider (Okta, Entra ID, Google Workspace...). allauth runs the sign-in itself (auth_adapter.py); this
module keeps the settings, checks the provider's discovery document and turns the sign-in on and off."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import requests
from django.conf import settings
from django.db import transaction
from django.views.decorators.debug import sensitive_variables

from channels_app import crypto
from channels_app.models import Company, CompanySignIn, CompanySignInDomain

# OpenID Connect Discovery 1.0, section 4: the document lives at the issuer plus this path, and its
# `issuer` must be exactly the issuer it was fetched under (section 4.3).
# https://openid.net/specs/openid-connect-discovery-1_0.html#ProviderConfig
WELL_KNOWN_PATH = "/.well-known/openid-configuration"
# What allauth's openid_connect provider reads from the document to sign a person in.
REQUIRED_METADATA = ("authorization_endpoint", "token_endpoint", "jwks_uri")

HttpGet = Callable[..., requests.Response]


@dataclass(frozen=True)
class DiscoveryCheck:
    """What fetching the identity provider's discovery document showed: ok, or why not in words."""

    ok: bool
    problem: str = ""


def discovery_url(issuer_url: str) -> str:
    return issuer_url.rstrip("/") + WELL_KNOWN_PATH


def check_discovery(issuer_url: str, *, get: HttpGet = requests.get) -> DiscoveryCheck:
    """Fetch <issuer>/.well-known/openid-configuration and check what sign-in needs is in it.

    Whatever the server answers (nothing, an error page, HTML, JSON of another issuer) comes back as a
    DiscoveryCheck with a sentence, never as an exception.
    """
    url = discovery_url(issuer_url)
    try:
        response = get(url, timeout=settings.OAUTH_HTTP_TIMEOUT_SECONDS, headers={"Accept": "application/json"})
    except requests.Timeout:
        return DiscoveryCheck(False, f"{url} did not answer within {settings.OAUTH_HTTP_TIMEOUT_SECONDS} seconds.")
    except requests.RequestException as error:
        return DiscoveryCheck(False, f"Could not reach {url} ({type(error).__name__}).")
    if response.status_code != 200:
        return DiscoveryCheck(False, f"{url} answered HTTP {response.status_code}, not the discovery document.")
    try:
        document: Any = response.json()
    except ValueError:
        return DiscoveryCheck(False, f"{url} did not answer with JSON: is the issuer URL right?")
    if not isinstance(document, dict):
        return DiscoveryCheck(False, f"{url} did not answer with a discovery document.")
    issuer = document.get("issuer")
    if not isinstance(issuer, str) or issuer.rstrip("/") != issuer_url.rstrip("/"):
        return DiscoveryCheck(False, f"The discovery document names the issuer {issuer!r}, not {issuer_url!r}.")
    missing = [key for key in REQUIRED_METADATA if not isinstance(document.get(key), str) or not document[key]]
    if missing:
        return DiscoveryCheck(False, f"The discovery document has no {', '.join(missing)}.")
    return DiscoveryCheck(True)


def company_sign_in_secret(sign_in: CompanySignIn) -> str:
    return str(crypto.decrypt_json(sign_in.client_secret_ciphertext).get("client_secret", ""))


@sensitive_variables("client_secret")
@transaction.atomic
def company_sign_in_save(
    *,
    company: Company,
    issuer_url: str,
    client_id: str,
    client_secret: str | None,
    domains: Sequence[str],
) -> CompanySignIn:
    """Create or change the company's settings; `client_secret` None keeps the stored one.

    Leaves `enabled` as it was: turning on is its own step, after a discovery check.
    """
    sign_in, _ = CompanySignIn.objects.get_or_create(
        company=company, defaults={"issuer_url": issuer_url, "client_id": client_id}
    )
    sign_in.issuer_url = issuer_url.rstrip("/")
    sign_in.client_id = client_id
    if client_secret is not None:
        sign_in.client_secret_ciphertext = crypto.encrypt_json({"client_secret": client_secret})
    sign_in.save()
    sign_in.domains.exclude(domain__in=domains).delete()
    for domain in domains:
        CompanySignInDomain.objects.get_or_create(sign_in=sign_in, domain=domain)
    return sign_in


def company_sign_in_turn_on(*, sign_in: CompanySignIn, get: HttpGet = requests.get) -> DiscoveryCheck:
    """On only when the provider's discovery document is in order, so nobody is sent to a dead end."""
    check = check_discovery(sign_in.issuer_url, get=get)
    if check.ok:
        sign_in.enabled = True
        sign_in.save(update_fields=["enabled", "updated_at"])
    return check


def company_sign_in_recheck(*, sign_in: CompanySignIn, get: HttpGet = requests.get) -> DiscoveryCheck:
    """After the issuer of a turned-on sign-in changed: off again unless the new one's discovery document
    is in order, so its people are never sent to a provider that cannot sign them in."""
    check = check_discovery(sign_in.issuer_url, get=get)
    if not check.ok:
        company_sign_in_turn_off(sign_in=sign_in)
    return check


def company_sign_in_turn_off(*, sign_in: CompanySignIn) -> None:
    sign_in.enabled = False
    sign_in.save(update_fields=["enabled", "updated_at"])
