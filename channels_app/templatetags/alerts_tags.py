from django import template

from channels_app.views.alerts import POPUP_TEMPLATE, popup_context

register = template.Library()


@register.inclusion_tag(POPUP_TEMPLATE, takes_context=True)
def alerts_fragment(context: template.Context) -> dict[str, object]:
    """The pop-ups rendered into the page itself, so they show before the first poll.

    Same context as the polled view, so the two can never disagree.
    """
    request = context["request"]
    return popup_context(request, request.get_full_path())
