"""A person's own preferences: which categories of alert also come by email."""

from collections.abc import Collection

from django.db import transaction

from channels_app.models import AlertCategory, AlertEmailOptOut, User
from channels_app.selectors import alert_categories_for


def alert_email_preferences_save(*, user: User, emailed: Collection[AlertCategory]) -> None:
    """Email `user` the alerts of the `emailed` categories and none of the others they may be sent.

    Categories they cannot be sent (staff alerts for someone who is not staff) are left as they are, so a
    person who becomes staff later starts with those emails on, as everyone does.
    """
    turned_off = [c for c in alert_categories_for(user) if c not in emailed]
    with transaction.atomic():
        AlertEmailOptOut.objects.filter(user=user, category__in=list(emailed)).delete()
        AlertEmailOptOut.objects.bulk_create(
            [AlertEmailOptOut(user=user, category=c) for c in turned_off], ignore_conflicts=True
        )
