from django import template

from channels_app.models import Channel
from channels_app.permissions import Space, settings_spaces
from channels_app.services.backfill import backfill_eta_seconds, open_backfill

register = template.Library()


@register.inclusion_tag("channels_app/settings/_sidebar.html", takes_context=True)
def settings_sidebar(context: template.Context, current: Space) -> dict[str, object]:
    return {"spaces": settings_spaces(context["request"].user), "current_key": current.key}


@register.inclusion_tag("channels_app/channel/_backfill.html")
def backfill_panel(channel: Channel) -> dict[str, object]:
    """The running backfill's progress (imported of total, started, time left), or nothing."""
    backfill = open_backfill(channel)
    if backfill is None:
        return {"channel": channel, "backfill": None}
    percent = int(100 * backfill.imported / backfill.total) if backfill.total else 0
    return {"channel": channel, "backfill": backfill, "percent": percent, "eta": backfill_eta_seconds(backfill)}
