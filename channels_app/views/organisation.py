"""Company settings → Organisation connection, one page per provider (company admins only; everyone else
gets the 404 of access_company): generated instructions, the key or secret (never shown back), Test, status."""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from channels_app.http import AuthedRequest
from channels_app.models import Company, OrganisationConnection, OrganisationProvider
from channels_app.organisation_forms import GoogleKeyForm, MicrosoftAppForm, OrganisationTestForm
from channels_app.permissions import Space, access_company
from channels_app.providers.gmail import delegation
from channels_app.providers.microsoft import app_access
from channels_app.selectors.organisation import (
    addresses_through,
    connection_counts,
    organisation_connection_of,
    organisation_connection_or_new,
)
from channels_app.services.organisation_connections import (
    ConnectionInUse,
    MicrosoftSettings,
    google_key_save,
    microsoft_settings_save,
    organisation_connection_remove,
    organisation_forget_previous_key,
)
from channels_app.services.organisation_health import organisation_test
from channels_app.services.organisation_tokens import forget_tokens

TEMPLATE = "channels_app/settings/organisation_connection.html"


def _provider(name: str) -> OrganisationProvider:
    if name not in OrganisationProvider.values:
        raise Http404("No such page.")
    return OrganisationProvider(name)


def instructions(connection: OrganisationConnection) -> dict[str, object]:
    """What the organisation's administrator does, generated for this company's connection."""
    if connection.organisation_provider is OrganisationProvider.GOOGLE:
        return {"steps": delegation.admin_steps(client_id=connection.client_id or "<client id of the key>")}
    client_id = connection.client_id or "<application id>"
    object_id = connection.service_principal_id or "<service principal object id>"
    mailboxes = sorted((addresses_through(connection) | {connection.test_mailbox}) - {""})
    return {
        "consent_url": app_access.consent_url(tenant_id=connection.tenant_id or "<tenant>", client_id=client_id),
        "powershell": app_access.powershell_lines(
            client_id=client_id, object_id=object_id, mailboxes=mailboxes or ["<mailbox address>"]
        ),
        "least_privilege": app_access.LEAST_PRIVILEGE_NOTES,
    }


def _page(
    request: AuthedRequest,
    company: Company,
    connection: OrganisationConnection,
    form: GoogleKeyForm | MicrosoftAppForm,
    status: int = 200,
) -> HttpResponse:
    saved = connection.pk is not None
    counts = connection_counts(connection)
    context = {
        "space": Space.of_company(company),
        "settings_page": f"organisation-{connection.provider}",
        "connection": connection,
        "saved": saved,
        "form": form,
        "test_form": OrganisationTestForm(initial={"mailbox": connection.test_mailbox}),
        "scope": delegation.SCOPE if connection.provider == OrganisationProvider.GOOGLE else app_access.SCOPE,
        "domains": counts.domains,
        "channel_count": counts.channels,
        "waiting_count": counts.waiting,
        **instructions(connection),
    }
    return render(request, TEMPLATE, context, status=status)


def _form(connection: OrganisationConnection, data: Any = None, files: Any = None) -> GoogleKeyForm | MicrosoftAppForm:
    if connection.organisation_provider is OrganisationProvider.GOOGLE:
        return GoogleKeyForm(data, files)
    initial = {
        "tenant_id": connection.tenant_id,
        "client_id": connection.client_id,
        "service_principal_id": connection.service_principal_id,
    }
    return MicrosoftAppForm(data, initial=initial, has_secret=connection.has_secret)


@sensitive_post_parameters("client_secret")
@login_required
@require_http_methods(["GET", "POST"])
def organisation_connection(request: AuthedRequest, provider: str) -> HttpResponse:
    company = access_company(request.user)
    connection = organisation_connection_or_new(company=company, provider=_provider(provider))
    if request.method != "POST":
        return _page(request, company, connection, _form(connection))
    form = _form(connection, request.POST, request.FILES)
    if isinstance(form, GoogleKeyForm) and form.is_valid():
        connection = google_key_save(company=company, key=form.cleaned_data["key_file"])
    elif isinstance(form, MicrosoftAppForm) and form.is_valid():
        data = form.cleaned_data
        settings = MicrosoftSettings(data["tenant_id"], data["client_id"], data["service_principal_id"])
        connection = microsoft_settings_save(company=company, settings=settings, client_secret=data["client_secret"])
    else:
        return _page(request, company, connection, form, status=400)
    forget_tokens(connection.pk)
    messages.success(request, "Saved. Follow the steps below, then test the connection with one mailbox.")
    return redirect("organisation_connection", provider=provider)


def _saved_connection(request: AuthedRequest, provider: str) -> OrganisationConnection:
    company = access_company(request.user)
    connection = organisation_connection_of(company=company, provider=_provider(provider))
    if connection is None:
        raise Http404("No such page.")
    return connection


@login_required
@require_POST
def organisation_connection_test(request: AuthedRequest, provider: str) -> HttpResponse:
    connection = _saved_connection(request, provider)
    form = OrganisationTestForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Enter the address of a mailbox to open.")
    else:
        answer = organisation_test(connection=connection, mailbox=form.cleaned_data["mailbox"])
        (messages.success if answer.works else messages.error)(request, answer.words)
    return redirect("organisation_connection", provider=provider)


@login_required
@require_POST
def organisation_connection_forget_previous(request: AuthedRequest, provider: str) -> HttpResponse:
    connection = _saved_connection(request, provider)
    organisation_forget_previous_key(connection=connection)
    messages.success(request, "The previous key is forgotten. Delete it at the provider too, if not done yet.")
    return redirect("organisation_connection", provider=provider)


@login_required
@require_POST
def organisation_connection_delete(request: AuthedRequest, provider: str) -> HttpResponse:
    connection = _saved_connection(request, provider)
    connection_id = connection.pk
    try:
        organisation_connection_remove(connection=connection)
    except ConnectionInUse as in_use:
        messages.error(request, str(in_use))
    else:
        forget_tokens(connection_id)
        messages.success(request, "The organisation connection and its key are removed.")
    return redirect("organisation_connection", provider=provider)
