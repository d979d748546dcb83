"""Pop-up alerts: the fragment the page polls, and dismissing one for this session."""

from urllib.parse import urlsplit

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from channels_app.http import AuthedRequest
from channels_app.models import Notification
from channels_app.selectors import popup_alerts
from channels_app.services.alerts import alert_dismiss, dismissed_alert_ids

POPUP_TEMPLATE = "channels_app/notifications/_popup.html"
# Sent by static/js/alerts.js; asks for the refreshed fragment instead of a redirect.
FETCH_HEADER_VALUE = "fetch"


def _safe_local(request: AuthedRequest, url: str | None) -> str | None:
    """`url` as a local path if it points back at this site, else None (no open redirects)."""
    if not url or not url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return None
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def popup_context(request: AuthedRequest, page: str) -> dict[str, object]:
    """What _popup.html needs; `page` is where a no-JavaScript Dismiss returns to."""
    return {"alerts": popup_alerts(request.user, hide=dismissed_alert_ids(request.session)), "next_url": page}


def _fragment(request: AuthedRequest) -> HttpResponse:
    # Polled from any page: the page the person is on is the Referer, not this URL.
    page = _safe_local(request, request.headers.get("Referer")) or "/"
    return render(request, POPUP_TEMPLATE, popup_context(request, page))


@never_cache
@login_required
@require_GET
def alerts_popup(request: AuthedRequest) -> HttpResponse:
    return _fragment(request)


@never_cache
@login_required
@require_POST
def dismiss_alert(request: AuthedRequest, notification_id: int) -> HttpResponse:
    # Filtering by recipient makes someone else's notification look exactly like a missing one.
    notification = get_object_or_404(Notification, pk=notification_id, recipient=request.user)
    alert_dismiss(notification=notification, session=request.session)
    if request.headers.get("X-Requested-With") == FETCH_HEADER_VALUE:
        return _fragment(request)
    return redirect(_safe_local(request, request.POST.get("next")) or "/")
