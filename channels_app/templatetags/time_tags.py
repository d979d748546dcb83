"""Times on pages, in the person's zone (channels_app/times.py): each a <time> element whose tooltip names the
zone. `{{ when|moment }}` "Mar 5, 14:02"; `{{ when|moment_date }}` "Mar 5"; `{{ when|ago }}` "just now";
`{% zone_name %}` "Europe/Paris"."""

from datetime import datetime

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from channels_app import times

register = template.Library()


def _time(value: datetime, text: str) -> SafeString:
    return format_html('<time datetime="{}" title="{}">{}</time>', value.isoformat(), times.full_text(value), text)


@register.filter
def moment(value: datetime | None) -> SafeString | str:
    return _time(value, times.moment_text(value)) if value else ""


@register.filter
def moment_seconds(value: datetime | None) -> SafeString | str:
    return _time(value, times.moment_text(value, today_bare=True, seconds=True)) if value else ""


@register.filter
def moment_date(value: datetime | None) -> SafeString | str:
    return _time(value, times.date_text(value)) if value else ""


@register.filter
def ago(value: datetime | None) -> SafeString | str:
    return _time(value, times.ago_text(value)) if value else ""


@register.simple_tag
def zone_name() -> str:
    return times.zone_label(times.zone_name())


@register.simple_tag
def now_moment() -> SafeString:
    now = timezone.now()
    return _time(now, times.moment_text(now, now, today_bare=True))
