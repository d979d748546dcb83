"""Personal settings: which alerts also come by email. A person's own only: the page has no id to change."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from channels_app.forms import AlertEmailPreferencesForm
from channels_app.http import AuthedRequest
from channels_app.permissions import PERSONAL_SPACE
from channels_app.selectors import alert_categories_for, alert_email_opt_outs
from channels_app.services.preferences import alert_email_preferences_save


@login_required
@require_http_methods(["GET", "POST"])
def alert_preferences(request: AuthedRequest) -> HttpResponse:
    form = AlertEmailPreferencesForm(
        request.POST if request.method == "POST" else None,
        categories=alert_categories_for(request.user),
        opted_out=alert_email_opt_outs(request.user),
    )
    if form.is_valid():
        alert_email_preferences_save(user=request.user, emailed=form.emailed())
        messages.success(request, "Saved. Pop-ups and the Notifications page still show every alert.")
        return redirect("alert_preferences")
    context = {"space": PERSONAL_SPACE, "form": form, "settings_page": "notifications"}
    return render(request, "channels_app/settings/alert_preferences.html", context)
