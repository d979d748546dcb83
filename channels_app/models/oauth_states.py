from django.db import models
from django.utils import timezone


class UsedOAuthState(models.Model):
    """An OAuth `state` that was used once: a second callback with it, even one racing the first, is
    refused. Kept as a digest, only as long as a state can live (OAUTH_STATE_MAX_AGE_SECONDS)."""

    digest = models.CharField(max_length=64, unique=True)
    used_at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return f"state used at {self.used_at:%Y-%m-%d %H:%M:%S}"
