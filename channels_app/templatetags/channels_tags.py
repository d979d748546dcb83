from django import template

from channels_app.permissions import Space, settings_spaces

register = template.Library()


@register.inclusion_tag("channels_app/settings/_sidebar.html", takes_context=True)
def settings_sidebar(context: template.Context, current: Space) -> dict[str, object]:
    return {"spaces": settings_spaces(context["request"].user), "current_key": current.key}
