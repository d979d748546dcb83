"""The Notifications page: every alert the person was sent, read and unread, each leading to where it is
acted on. Pop-ups (views/alerts.py) show the open problems only; this page keeps the story."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from channels_app.http import AuthedRequest
from channels_app.models import PROBLEM_KINDS, AlertCategory, Notification, NotificationKind
from channels_app.selectors import notification_history
from channels_app.services.alerts import notification_mark_read, notifications_mark_all_read

# Good news is read on the Overview, beside the receipt and the incidents; everything else is acted on
# from the Settings tab (Reauthorize, links); staff alerts from Django admin, as the pop-up does.
OVERVIEW_KINDS = (NotificationKind.RECOVERED, NotificationKind.RECONNECTED)


def notification_target(notification: Notification) -> str:
    connection = notification.organisation_connection
    if connection is not None:
        return reverse("organisation_connection", args=[connection.provider])
    if notification.category == AlertCategory.STAFF:
        return reverse("admin:channels_app_channel_change", args=[notification.channel_id])
    if notification.kind in OVERVIEW_KINDS:
        return reverse("channel_overview", args=[notification.channel_id])
    return reverse("channel_settings", args=[notification.channel_id])


@login_required
@require_GET
def notifications_list(request: AuthedRequest) -> HttpResponse:
    rows = (
        notification_history(request.user)
        .select_related("channel", "organisation_connection")
        .order_by("-created_at", "-id")
    )
    page = Paginator(rows, settings.NOTIFICATIONS_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "channels_app/notifications/list.html",
        {"page": page, "notifications": page.object_list, "problem_kinds": PROBLEM_KINDS},
    )


@login_required
@require_GET
def notification_open(request: AuthedRequest, notification_id: int) -> HttpResponse:
    """Marks it read and goes where it is acted on: a link, so it opens in a new tab and works without
    JavaScript; marking read twice changes nothing."""
    # From the person's own history: someone else's notification looks exactly like a missing one.
    notification = get_object_or_404(notification_history(request.user), pk=notification_id)
    notification_mark_read(notification=notification)
    return redirect(notification_target(notification))


@login_required
@require_POST
def notifications_read_all(request: AuthedRequest) -> HttpResponse:
    count = notifications_mark_all_read(user=request.user)
    messages.success(request, f"Marked {count} notification{pluralize(count)} read." if count else "Nothing unread.")
    return redirect("notifications")
