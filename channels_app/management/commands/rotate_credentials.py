from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from channels_app import crypto
from channels_app.models import Channel


class Command(BaseCommand):
    help = "Re-encrypt every channel's credentials with the first key in CREDENTIALS_KEYS."

    def handle(self, *args: Any, **options: Any) -> None:
        rotated = 0
        ids = list(Channel.objects.exclude(credentials_ciphertext="").values_list("pk", flat=True))
        for pk in ids:
            # One row at a time under a lock: a worker storing fresh tokens meanwhile is not overwritten.
            with transaction.atomic():
                channel = Channel.objects.select_for_update().get(pk=pk)
                channel.credentials_ciphertext = crypto.rotate(channel.credentials_ciphertext)
                channel.save(update_fields=["credentials_ciphertext"])
                rotated += 1
        self.stdout.write(self.style.SUCCESS(f"Re-encrypted the credentials of {rotated} channel(s)."))
