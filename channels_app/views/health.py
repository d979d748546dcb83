"""The company's Channel health page and its CSV export: company admins only (404 for anyone else)."""

import csv
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from channels_app.health_report import (
    UPTIME_DAYS,
    HealthFilter,
    HealthRow,
    Sort,
    SortKey,
    csv_rows,
    health_rows,
)
from channels_app.http import AuthedRequest
from channels_app.models import Channel, ChannelStatus
from channels_app.permissions import Space, access_company, visible_channels
from channels_app.providers.registry import provider_choices


def _company_channels(request: AuthedRequest) -> tuple[Space, QuerySet[Channel]]:
    """Every channel of the company the admin may open: its shared inboxes, and their own individual ones
    (another person's individual inbox stays theirs, as everywhere: permissions.visible_channels)."""
    company = access_company(request.user)
    return Space.of_company(company), visible_channels(request.user).filter(inbox__company=company)


def chosen_rows(request: HttpRequest, channels: QuerySet[Channel]) -> tuple[HealthFilter, Sort, list[HealthRow]]:
    """The rows the query string asks for (status, provider, sort), shared by the page, its CSV and staff's view."""
    chosen = HealthFilter.parse(request.GET.get("status"), request.GET.get("provider"))
    sort = Sort.parse(request.GET.get("sort"))
    return chosen, sort, sort.apply(health_rows(chosen.apply(channels)))


def health_context(request: HttpRequest, channels: QuerySet[Channel], *, csv_url: str) -> dict[str, object]:
    """What templates/channels_app/health/_table.html shows; every link keeps the filter and the sort."""
    chosen, sort, rows = chosen_rows(request, channels)
    page = Paginator(rows, settings.CHANNELS_PAGE_SIZE).get_page(request.GET.get("page"))
    query = {k: v for k, v in {"status": chosen.status, "provider": chosen.provider}.items() if v}

    def link(**more: object) -> str:
        return "?" + urlencode({**query, "sort": str(sort), **more})

    columns = [
        # Each heading sorts by its column; the sorted one turns the other way. The provider is named under the
        # address rather than in a column of its own, so the table fits a laptop's panel; the form still sorts by it.
        {
            "label": key.label,
            "sorted": sort.key == key,
            "descending": sort.descending,
            "url": link(sort=f"-{key}" if sort.key == key and not sort.descending else str(key)),
        }
        for key in SortKey
        if key is not SortKey.PROVIDER
    ]
    return {
        "page": page,
        "rows": page.object_list,
        "chosen": chosen,
        "sort": sort,
        "columns": columns,
        "csv_url": csv_url + link(),
        "previous_url": link(page=page.previous_page_number()) if page.has_previous() else "",
        "next_url": link(page=page.next_page_number()) if page.has_next() else "",
        "statuses": ChannelStatus.choices,
        "providers": provider_choices(),
        "sort_choices": [(str(key), key.label) for key in SortKey]
        + [(f"-{key}", f"{key.label} (descending)") for key in SortKey],
        "sort_value": str(sort),
        "uptime_days": UPTIME_DAYS,
    }


def csv_response(rows: list[HealthRow], *, name: str) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y-%m-%d")
    response["Content-Disposition"] = f'attachment; filename="{name}-{stamp}.csv"'
    writer = csv.writer(response)
    writer.writerows(csv_rows(rows))
    return response


@login_required
def company_health(request: AuthedRequest) -> HttpResponse:
    space, channels = _company_channels(request)
    context = health_context(request, channels, csv_url=reverse("company_health_csv"))
    context.update(space=space, settings_page="health")
    return render(request, "channels_app/health/health.html", context)


@login_required
def company_health_csv(request: AuthedRequest) -> HttpResponse:
    _space, channels = _company_channels(request)
    _chosen, _sort, rows = chosen_rows(request, channels)
    return csv_response(rows, name="channel-health")
