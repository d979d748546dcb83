"""The demo company, shared by `seed_demo` (the data) and `run_demo` (the sign-ins it prints)."""

from dataclasses import dataclass

from channels_app.providers import Credentials, get_provider

DEMO_PASSWORD = "demo-password-1"
# The demo mailboxes' password at the Local mail provider (its sign-in page asks for it on Reauthorize).
MAILBOX_PASSWORD = "mail-password-1"


@dataclass(frozen=True)
class DemoPerson:
    email: str
    first_name: str
    role: str  # what the person is, printed by `make run`
    is_staff: bool = False


DANA = DemoPerson("dana@acme.test", "Dana", "company admin: manages every shared inbox")
SAM = DemoPerson("sam@acme.test", "Sam", "teammate: owns sam@acme.test, plain member of the Support workspace")
WES = DemoPerson("wes@acme.test", "Wes", "workspace admin of Sales")
STAFF = DemoPerson("staff@acme.test", "Stella", "staff: Django admin at /admin/", is_staff=True)
PEOPLE = (DANA, SAM, WES, STAFF)

# A second company whose domain signs in through its identity provider: Local mail plays it (its OpenID
# Connect client below), so Ivy has no password here and signs in at Local mail with MAILBOX_PASSWORD.
SSO_COMPANY = "Initech"
SSO_DOMAIN = "initech.test"
IVY = DemoPerson("ivy@initech.test", "Ivy", "company admin of Initech: signs in through Initech's identity provider")
SSO_CLIENT_ID = "initech-sign-in"
SSO_CLIENT_SECRET = "initech-demo-secret"  # a demo value at a loopback test double, like MAILBOX_PASSWORD


def local_consent(address: str, password: str, kind: str = "local") -> Credentials:
    """Real tokens for a Local mail mailbox: the whole round trip (sign-in, consent, code exchange)
    through the app's own provider module (`kind`: the local one, or Gmail's or Microsoft's where Local
    mail stands in for them), without a browser. Used by the demo's seeding, the tests and the
    benchmarks; never by a request."""
    # Imported here: localprovider is a development tool, not needed by a production process.
    from localprovider import browser

    provider = get_provider(kind)
    verifier = "local-consent-" + "v" * 50
    redirect_uri = "http://127.0.0.1/oauth/callback/"
    url = provider.authorization_url(
        redirect_uri=redirect_uri, state="local", code_verifier=verifier, login_hint=address
    )
    code = browser.callback_query(browser.authorize_as(url, address, password))["code"]
    return provider.exchange_code(code=code, redirect_uri=redirect_uri, code_verifier=verifier)
