"""Writes of a person's time zone: their own choice, or what their browser said at first sign-in."""

from channels_app.models import User


def user_set_time_zone(*, user: User, zone: str) -> None:
    """The zone the person chose in personal settings (validated by forms.TimeZoneForm)."""
    User.objects.filter(pk=user.pk).update(time_zone=zone)
    user.time_zone = zone


def user_take_browser_time_zone(*, user: User, zone: str) -> bool:
    """The zone the browser reported, kept only while the person has none: a choice they made, or an earlier
    report, wins (one conditional update, so two tabs posting at once cannot undo a choice). True if kept."""
    taken = User.objects.filter(pk=user.pk, time_zone="").update(time_zone=zone) == 1
    if taken:
        user.time_zone = zone
    return taken
