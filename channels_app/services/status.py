"""Every change of a channel's status goes through here, so each one writes exactly one ChannelEvent."""

from django.db import transaction
from django.utils import timezone

from channels_app.models import Channel, ChannelEvent, ChannelStatus, ReasonCode, User


def channel_set_status(
    *,
    channel: Channel,
    status: ChannelStatus,
    reason: str = "",
    reason_code: ReasonCode = ReasonCode.NONE,
    actor: User | None = None,
    cause: str = "",
    provider_code: str = "",
    log_unchanged: bool = False,
) -> ChannelEvent | None:
    """Move a channel to `status` and log the change; no event when nothing changes,
    unless `log_unchanged` (a person's action on a healthy channel is still history).

    Locks the row so two workers deciding at once cannot both log the same
    transition.
    """
    with transaction.atomic():
        locked = Channel.objects.select_for_update().get(pk=channel.pk)
        if locked.status == status and locked.status_reason == reason and not log_unchanged:
            return None
        previous = locked.status
        now = timezone.now()
        changed_status = previous != status
        locked.status = status
        locked.status_reason = reason
        locked.reason_code = reason_code
        if changed_status:
            locked.status_since = now
        locked.save(update_fields=["status", "status_reason", "reason_code", "status_since"])
        channel.status, channel.status_reason, channel.status_since = locked.status, reason, locked.status_since
        channel.reason_code = reason_code
        if not (changed_status or log_unchanged):
            return None
        return ChannelEvent.objects.create(
            channel=locked,
            created_at=now,
            from_status=previous,
            to_status=status,
            reason=reason,
            actor=actor,
            cause=cause,
            provider_code=provider_code,
        )
