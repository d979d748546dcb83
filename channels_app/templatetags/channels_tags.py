from django import template

from channels_app.models import Channel
from channels_app.permissions import Space, settings_spaces
from channels_app.selectors.backfill import backfill_progress, open_backfill

register = template.Library()


@register.inclusion_tag("channels_app/settings/_sidebar.html", takes_context=True)
def settings_sidebar(context: template.Context, current: Space) -> dict[str, object]:
    """The spaces, with the current one's pages; `settings_page` in the context names the open one (Channels
    unless it says otherwise)."""
    return {
        "spaces": settings_spaces(context["request"].user),
        "current_key": current.key,
        "current_page": context.get("settings_page") or "channels",
    }


@register.inclusion_tag("channels_app/channel/_backfill.html")
def backfill_panel(channel: Channel) -> dict[str, object]:
    """The open backfill's progress (imported of total; running with time left, waiting or paused), or nothing."""
    backfill = open_backfill(channel)
    if backfill is None:
        return {"channel": channel, "backfill": None}
    return {"channel": channel, "backfill": backfill, "progress": backfill_progress(backfill)}
