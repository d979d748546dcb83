"""A person's time zone: chosen in personal settings, or reported once by their browser at first sign-in."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from channels_app.forms import TimeZoneForm
from channels_app.http import AuthedRequest
from channels_app.permissions import PERSONAL_SPACE
from channels_app.services.time_zone import user_set_time_zone, user_take_browser_time_zone
from channels_app.times import zone_label


@login_required
def personal_time_zone(request: AuthedRequest) -> HttpResponse:
    user = request.user
    form = TimeZoneForm(request.POST or None, initial={"time_zone": user.time_zone or "UTC"})
    if request.method == "POST" and form.is_valid():
        user_set_time_zone(user=user, zone=form.cleaned_data["time_zone"])
        messages.success(request, f"Times now show in {zone_label(user.time_zone)}.")
        return redirect("personal_time_zone")
    context = {
        "space": PERSONAL_SPACE,
        "settings_page": "time-zone",
        "form": form,
        "chosen": bool(user.time_zone),
    }
    return render(request, "channels_app/settings/time_zone.html", context)


@login_required
@require_POST
def detect_time_zone(request: AuthedRequest) -> HttpResponse:
    """static/js/time_zone.js posts the browser's zone while the person has none. 204 whether kept or not (a
    zone already set wins); 400 for a zone we do not know, which leaves the site's default in place."""
    form = TimeZoneForm(request.POST)
    if not form.is_valid():
        return HttpResponse("Unknown time zone.", status=400, content_type="text/plain")
    user_take_browser_time_zone(user=request.user, zone=form.cleaned_data["time_zone"])
    return HttpResponse(status=204)
