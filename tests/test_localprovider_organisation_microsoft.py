"""Local mail's Microsoft 365 application access to IMAP: an app registration gets its own token with the
client-credentials grant at its tenant's token endpoint, and opens the mailboxes Exchange gave its service
principal FullAccess to (XOAUTH2, user = the mailbox), shared mailboxes with no delegate included; the tenant
administrator's consent and Exchange's service principal and mailbox permissions can each be taken away, and
every refusal is worded as Entra or Exchange words it.

Runs against the suite's own provider instance (`local_provider`) with its OAuth server, Dovecot and IMAP front.
Every test takes a tenant of its own: the provider outlives the test database.
"""

import json
import urllib.error
import urllib.parse
import urllib.request
import uuid
from typing import Any

import pytest

from localprovider import control
from tests.provider_fixtures import xoauth2_open, xoauth2_refused

pytestmark = pytest.mark.local_provider

SCOPE = "https://outlook.office365.com/.default"
ENTRA_ERROR_FIELDS = {
    "error",
    "error_description",
    "error_codes",
    "timestamp",
    "trace_id",
    "correlation_id",
    "error_uri",
}
REFUSED = "AUTHENTICATE failed."  # Exchange's words (recorded.json `authenticate_failed`)


def _tenant() -> str:
    return f"contoso-{uuid.uuid4().hex[:8]}.test"


def _app(instance: control.Instance, tenant: str, *, consent: bool = True, principal: bool = True) -> dict[str, str]:
    """An app registration; by default with admin consent and its service principal registered in Exchange."""
    app = control.register_app(instance, tenant)
    if consent:
        control.grant_admin_consent(instance, app["app_id"])
    if principal:
        control.new_service_principal(instance, app["app_id"], app["service_principal_object_id"])
    return app


def _mailbox(instance: control.Instance, tenant: str, local: str = "sales", *, shared: bool = False) -> str:
    address = f"{local}@{tenant}"
    if shared:
        control.create_shared_mailbox(instance, address)
    else:
        control.create_mailbox(instance, address, f"pw-{uuid.uuid4().hex}", persona="microsoft")
    control.append_messages(instance, address, [control.make_message(recipient=address)])
    return address


def _token_request(app: dict[str, str], **changes: str | None) -> tuple[int, dict[str, Any]]:
    form = {"grant_type": "client_credentials", "client_id": app["app_id"], "client_secret": app["client_secret"]}
    form |= {"scope": SCOPE} | changes
    url = str(form.pop("url", None) or app["token_url"])
    data = urllib.parse.urlencode({k: v for k, v in form.items() if v is not None}).encode()
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(urllib.request.Request(url, data=data, method="POST"), timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def _token(app: dict[str, str], **changes: str) -> str:
    status, answer = _token_request(app, **changes)
    assert status == 200, answer
    return str(answer["access_token"])


def _entra_error(answer: tuple[int, dict[str, Any]]) -> tuple[int, str, int, str]:
    """(status, error, AADSTS code, description's first line) of an answer in Entra's error shape."""
    status, body = answer
    assert set(body) == ENTRA_ERROR_FIELDS, body
    assert body["error_uri"] == f"https://login.microsoftonline.com/error?code={body['error_codes'][0]}"
    assert body["trace_id"] in body["error_description"]
    return status, body["error"], body["error_codes"][0], body["error_description"].split("\r\n")[0]


def test_an_app_with_consent_and_mailbox_permission_opens_the_mailbox(local_provider: control.Instance) -> None:
    tenant = _tenant()
    app, sales = _app(local_provider, tenant), _mailbox(local_provider, tenant)
    assert app["token_url"] == f"{local_provider.base_url}/{app['tenant_id']}/oauth2/v2.0/token"

    said = control.add_mailbox_permission(local_provider, sales, app["app_id"])
    status, answer = _token_request(app)

    assert said == f"app {app['app_id']} has FullAccess to {sales}"
    assert status == 200
    assert set(answer) == {"token_type", "expires_in", "ext_expires_in", "access_token"}
    assert (answer["token_type"], answer["expires_in"], answer["ext_expires_in"]) == ("Bearer", 3599, 3599)
    assert xoauth2_open(local_provider, sales, answer["access_token"]) == 1
    # The tenant may be named by its domain too, as at login.microsoftonline.com.
    by_domain = control.entra_token_url(local_provider, tenant)
    assert xoauth2_open(local_provider, sales, _token(app, url=by_domain)) == 1


def test_a_shared_mailbox_with_no_delegate_is_opened_by_the_app(local_provider: control.Instance) -> None:
    tenant = _tenant()
    app, shared = _app(local_provider, tenant), _mailbox(local_provider, tenant, "billing", shared=True)
    control.add_mailbox_permission(local_provider, shared, app["app_id"])
    assert control.mailbox_state(local_provider, shared).delegates == ()
    assert xoauth2_open(local_provider, shared, _token(app)) == 1


def test_mailboxes_without_permission_and_other_tenants_are_refused(local_provider: control.Instance) -> None:
    tenant, other_tenant = _tenant(), _tenant()
    app, other_app = _app(local_provider, tenant), _app(local_provider, other_tenant)
    sales, support = _mailbox(local_provider, tenant), _mailbox(local_provider, tenant, "support")
    theirs = _mailbox(local_provider, other_tenant)
    control.add_mailbox_permission(local_provider, sales, app["app_id"])
    control.add_mailbox_permission(local_provider, theirs, other_app["app_id"])
    token = _token(app)

    assert REFUSED in xoauth2_refused(local_provider, support, token)  # no permission on this one
    assert REFUSED in xoauth2_refused(local_provider, theirs, token)  # another tenant's mailbox
    with pytest.raises(control.LocalProviderError, match="is not a mailbox of the tenant"):
        control.add_mailbox_permission(local_provider, theirs, app["app_id"])
    # Another tenant's token endpoint does not know the app.
    other_url = other_app["token_url"]
    assert _entra_error(_token_request(app, url=other_url))[:3] == (400, "unauthorized_client", 700016)
    assert xoauth2_open(local_provider, sales, token) == 1


def test_without_admin_consent_the_token_has_no_role_and_imap_refuses_it(local_provider: control.Instance) -> None:
    tenant = _tenant()
    app, sales = _app(local_provider, tenant, consent=False), _mailbox(local_provider, tenant)
    control.add_mailbox_permission(local_provider, sales, app["app_id"])
    assert REFUSED in xoauth2_refused(local_provider, sales, _token(app))  # Entra issues it all the same

    control.grant_admin_consent(local_provider, app["app_id"])
    consented = _token(app)
    assert xoauth2_open(local_provider, sales, consented) == 1

    said = control.withdraw_admin_consent(local_provider, app["app_id"])
    assert said == f"IMAP.AccessAsApp withdrawn from app {app['app_id']}"
    assert REFUSED in xoauth2_refused(local_provider, sales, _token(app))
    assert xoauth2_open(local_provider, sales, consented) == 1  # an issued token keeps its role until it expires
    control.expire_client_tokens(local_provider, app["app_id"])
    assert REFUSED in xoauth2_refused(local_provider, sales, consented)

    control.grant_admin_consent(local_provider, app["app_id"])
    assert xoauth2_open(local_provider, sales, _token(app)) == 1


def test_removing_the_permission_or_the_service_principal_refuses_the_next_login(
    local_provider: control.Instance,
) -> None:
    tenant = _tenant()
    app, sales = _app(local_provider, tenant, principal=False), _mailbox(local_provider, tenant)
    with pytest.raises(control.LocalProviderError, match="New-ServicePrincipal first"):
        control.add_mailbox_permission(local_provider, sales, app["app_id"])
    with pytest.raises(control.LocalProviderError, match="not the object id"):
        control.new_service_principal(local_provider, app["app_id"], str(uuid.uuid4()))
    control.new_service_principal(local_provider, app["app_id"], app["service_principal_object_id"])
    control.add_mailbox_permission(local_provider, sales, app["app_id"])
    token = _token(app)
    assert xoauth2_open(local_provider, sales, token) == 1

    said = control.remove_mailbox_permission(local_provider, sales, app["app_id"])
    assert said == f"app {app['app_id']} no longer has FullAccess to {sales}"
    assert REFUSED in xoauth2_refused(local_provider, sales, token)
    control.add_mailbox_permission(local_provider, sales, app["app_id"])
    assert xoauth2_open(local_provider, sales, token) == 1

    control.remove_service_principal(local_provider, app["app_id"])
    assert REFUSED in xoauth2_refused(local_provider, sales, token)


def test_a_token_for_graph_does_not_open_a_mailbox_over_imap(local_provider: control.Instance) -> None:
    tenant = _tenant()
    app, sales = _app(local_provider, tenant), _mailbox(local_provider, tenant)
    control.add_mailbox_permission(local_provider, sales, app["app_id"])
    assert REFUSED in xoauth2_refused(local_provider, sales, _token(app, scope="https://graph.microsoft.com/.default"))


def test_both_secrets_work_until_one_is_removed(local_provider: control.Instance) -> None:
    app = _app(local_provider, _tenant())
    second = control.add_app_secret(local_provider, app["app_id"])
    assert second["client_secret"] != app["client_secret"]
    assert _token_request(app)[0] == 200
    assert _token_request(app, client_secret=second["client_secret"])[0] == 200

    control.remove_app_secret(local_provider, app["app_id"], app["client_secret_id"])

    refused = _entra_error(_token_request(app))
    assert refused == (
        401,
        "invalid_client",
        7000215,
        "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client "
        f"secret value, not the client secret ID, for a secret added to app '{app['app_id']}'.",
    )
    assert _token_request(app, client_secret=second["client_secret"])[0] == 200


def test_token_requests_entra_would_refuse(local_provider: control.Instance) -> None:
    tenant = _tenant()
    app = _app(local_provider, tenant)
    unknown = str(uuid.uuid4())

    assert _entra_error(_token_request(app, client_id=unknown)) == (
        400,
        "unauthorized_client",
        700016,
        f"AADSTS700016: Application with identifier '{unknown}' was not found in the directory '{tenant}'. "
        "This can happen if the application has not been installed by the administrator of the tenant or "
        "consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.",
    )
    assert _entra_error(_token_request(app, client_secret=None))[:3] == (401, "invalid_client", 7000218)
    user_scope = "https://outlook.office365.com/IMAP.AccessAsUser.All"
    assert _entra_error(_token_request(app, scope=user_scope))[:3] == (400, "invalid_scope", 1002012)
    elsewhere = "api://inventory.example.test/.default"
    assert _entra_error(_token_request(app, scope=elsewhere))[:3] == (400, "invalid_resource", 500011)
    nowhere = control.entra_token_url(local_provider, str(uuid.uuid4()))
    assert _entra_error(_token_request(app, url=nowhere))[:3] == (400, "invalid_request", 90002)
    assert _entra_error(_token_request(app, grant_type="password"))[:3] == (400, "unsupported_grant_type", 70003)
