from typing import Any

from django.core.management.base import BaseCommand

from channels_app.crypto import generate_key


class Command(BaseCommand):
    help = "Print a new key for CREDENTIALS_KEYS (put it first in the list, then run rotate_credentials)."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(generate_key())
