"""A per-provider request rate limit that holds across all workers on all machines.

Each second has a counter row per provider; a worker takes a slot with one
conditional UPDATE (atomic on every database) and, when the second is full,
waits for the next one. Providers throttle or ban clients that burst, so a pass
over thousands of channels must not start them all at once.
"""

import time
from collections.abc import Callable

from django.db import IntegrityError, transaction
from django.db.models import F

from channels_app.models import ProviderRequestWindow
from channels_app.providers import get_provider


def _take(provider: str, second: int, limit: int) -> bool:
    taken = ProviderRequestWindow.objects.filter(provider=provider, second=second, count__lt=limit).update(
        count=F("count") + 1
    )
    if taken:
        return True
    try:
        with transaction.atomic():
            ProviderRequestWindow.objects.create(provider=provider, second=second, count=1)
        return True
    except IntegrityError:  # the row exists (full, or another worker just made it)
        return False


def wait_for_request_slot(
    provider: str,
    *,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> float:
    """Block until a request to `provider` may start; returns the seconds waited.

    `clock` (epoch seconds) and `sleep` are the wall clock unless a test passes its own."""
    limit = get_provider(provider).rate_limit
    if not limit:
        return 0.0
    waited = 0.0
    while True:
        now = clock()
        second = int(now)
        if _take(provider, second, limit):
            if second % 60 == 0:  # now and then, forget old windows
                ProviderRequestWindow.objects.filter(provider=provider, second__lt=second - 60).delete()
            return waited
        pause = max(second + 1 - now, 0.001)
        sleep(pause)
        waited += pause
