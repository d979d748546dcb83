from typing import Any

from django.core.management.base import BaseCommand
from django.db import models, transaction

from channels_app import crypto
from channels_app.models import Channel, CompanySignIn, OrganisationConnection


def _rotate(model: type[models.Model], field: str) -> int:
    rotated = 0
    ids = list(model._default_manager.exclude(**{field: ""}).values_list("pk", flat=True))
    for pk in ids:
        # One row at a time under a lock: a worker storing fresh tokens meanwhile is not overwritten.
        with transaction.atomic():
            row = model._default_manager.select_for_update().get(pk=pk)
            setattr(row, field, crypto.rotate(getattr(row, field)))
            row.save(update_fields=[field])
            rotated += 1
    return rotated


class Command(BaseCommand):
    help = (
        "Re-encrypt every channel's credentials, company sign-in secret and organisation key with the first key "
        "in CREDENTIALS_KEYS."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        channels = _rotate(Channel, "credentials_ciphertext")
        self.stdout.write(self.style.SUCCESS(f"Re-encrypted the credentials of {channels} channel(s)."))
        secrets = _rotate(CompanySignIn, "client_secret_ciphertext")
        self.stdout.write(self.style.SUCCESS(f"Re-encrypted the client secret of {secrets} company sign-in(s)."))
        keys = _rotate(OrganisationConnection, "secret_ciphertext")
        keys += _rotate(OrganisationConnection, "previous_secret_ciphertext")
        self.stdout.write(self.style.SUCCESS(f"Re-encrypted {keys} organisation connection key(s)."))
