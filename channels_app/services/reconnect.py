"""What happens once a channel works again, whoever fixed it.

Called after the transaction that made the channel active has committed, so
what it starts sees the new credentials.
"""

from django.utils import timezone

from channels_app.models import Notification


def channel_reconnected(*, channel_id: int, actor_id: int | None) -> None:
    # The problem is over for everyone who was told about it: their pop-ups go away.
    Notification.objects.filter(channel_id=channel_id, resolved_at__isnull=True).update(resolved_at=timezone.now())
