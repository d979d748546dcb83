from django import template

from channels_app.selectors import unread_notifications_count
from channels_app.views.alerts import POPUP_TEMPLATE, popup_context

register = template.Library()


@register.inclusion_tag(POPUP_TEMPLATE, takes_context=True)
def alerts_fragment(context: template.Context) -> dict[str, object]:
    """The pop-ups rendered into the page itself, so they show before the first poll.

    Same context as the polled view, so the two can never disagree.
    """
    request = context["request"]
    return popup_context(request, request.get_full_path())


@register.inclusion_tag("channels_app/notifications/_nav.html", takes_context=True)
def notifications_nav(context: template.Context) -> dict[str, object]:
    """The header's way to the Notifications page, with how many alerts are unread."""
    return {"unread": unread_notifications_count(context["request"].user)}
