"""`python -m localprovider` commands of organisation-wide access: an administrator grants, refuses and restores
Google's domain-wide delegation and Microsoft's application access from the command line (organisation_cli.py).
What each change does to tokens and IMAP logins is tested in test_localprovider_organisation_{google,microsoft}.py.
"""

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from localprovider import control, organisation
from localprovider.instance import REPO_DIR

pytestmark = pytest.mark.local_provider

GMAIL = "https://mail.google.com/"


def _cli(instance: control.Instance, *args: str, expect: int = 0) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "localprovider", *args],
        env={**os.environ, **instance.environ()},
        cwd=REPO_DIR,
        capture_output=True,
        timeout=60,
        text=True,
    )
    assert done.returncode == expect, done.stderr
    return (done.stdout if expect == 0 else done.stderr).strip()


def test_an_administrator_grants_and_withdraws_domain_wide_delegation(
    local_provider: control.Instance, tmp_path: Path
) -> None:
    domain, key_file = f"corp-{uuid.uuid4().hex[:8]}.test", tmp_path / "key.json"
    said = _cli(local_provider, "create-service-account", f"mail-{uuid.uuid4().hex[:8]}", "--out", str(key_file))
    key = json.loads(key_file.read_text())
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert (
        said
        == f"key {key['private_key_id']} of {key['client_email']} (client id {key['client_id']}) written to {key_file}"
    )

    assert _cli(local_provider, "grant-delegation", domain, key["client_id"], GMAIL) == (
        f"{domain} delegates {GMAIL} to {key['client_id']}"
    )
    assert organisation.read(local_provider.dir).delegated_scopes(domain, key["client_id"]) == [GMAIL]
    assert _cli(local_provider, "withdraw-delegation", domain, key["client_id"]) == (
        f"{domain} no longer delegates to {key['client_id']}"
    )
    assert organisation.read(local_provider.dir).delegated_scopes(domain, key["client_id"]) is None
    refused = _cli(local_provider, "withdraw-delegation", domain, key["client_id"], expect=2)
    assert refused == f"localprovider: {domain} delegates nothing to {key['client_id']}"

    second = json.loads(_cli(local_provider, "add-service-account-key", key["client_email"]))
    assert second["client_id"] == key["client_id"]
    assert _cli(local_provider, "delete-service-account-key", key["client_email"], key["private_key_id"]) == (
        f"deleted key {key['private_key_id']} of {key['client_email']}"
    )


def test_an_administrator_grants_and_takes_back_application_access(local_provider: control.Instance) -> None:
    tenant = f"contoso-{uuid.uuid4().hex[:8]}.test"
    app = json.loads(_cli(local_provider, "register-app", tenant))
    app_id = app["app_id"]
    assert set(app) == {
        "tenant_id",
        "app_id",
        "client_secret",
        "client_secret_id",
        "service_principal_object_id",
        "token_url",
    }
    assert _cli(local_provider, "grant-consent", app_id) == f"IMAP.AccessAsApp granted to app {app_id}"
    assert _cli(local_provider, "new-service-principal", app_id, app["service_principal_object_id"]) == (
        f"Exchange knows the service principal of app {app_id}"
    )
    shared = f"billing@{tenant}"
    assert _cli(local_provider, "create-shared-mailbox", shared) == f"shared mailbox {shared} ready (no sign-in)"

    assert _cli(local_provider, "add-mailbox-permission", shared, app_id) == f"app {app_id} has FullAccess to {shared}"
    assert control.mailbox_state(local_provider, shared).applications == (app_id,)
    assert _cli(local_provider, "remove-mailbox-permission", shared, app_id) == (
        f"app {app_id} no longer has FullAccess to {shared}"
    )
    assert control.mailbox_state(local_provider, shared).applications == ()

    assert _cli(local_provider, "withdraw-consent", app_id) == f"IMAP.AccessAsApp withdrawn from app {app_id}"
    assert organisation.read(local_provider.dir).apps[app_id].admin_consent is False
    secret = json.loads(_cli(local_provider, "add-app-secret", app_id))
    assert _cli(local_provider, "remove-app-secret", app_id, secret["client_secret_id"]) == (
        f"removed client secret {secret['client_secret_id']} of app {app_id}"
    )
    assert _cli(local_provider, "remove-service-principal", app_id) == (
        f"Exchange forgot the service principal of app {app_id}"
    )
    assert _cli(local_provider, "expire-client", app_id) == f"expired 0 access tokens of {app_id}"
