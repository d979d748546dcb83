"""Reacting to changes made anywhere, Django admin included: memberships change who may see a channel."""

from typing import Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from channels_app.models import CompanyMembership, User, WorkspaceMembership
from channels_app.services.alerts import alerts_resolve_unseeable


@receiver(post_save, sender=CompanyMembership)
@receiver(post_delete, sender=CompanyMembership)
@receiver(post_save, sender=WorkspaceMembership)
@receiver(post_delete, sender=WorkspaceMembership)
def membership_changed(sender: type, instance: CompanyMembership | WorkspaceMembership, **kwargs: Any) -> None:
    user = User.objects.filter(pk=instance.user_id).first()
    if user is not None:
        alerts_resolve_unseeable(user=user)
