"""How often someone may try something: a fixed window of slots in Django's shared cache.

Guessing passwords through our forms, or sending support twenty emails, must stop after a few tries
however many web processes answer. The default cache is shared by all of them (the database, or
Redis with REDIS_URL; config/settings.py). Each try takes one of `limit` slots of the current window
with `cache.add`, which is atomic on every backend (the database's `incr` is a read then a write,
so two processes could both count 4 and both let a fifth try through).
"""

import hashlib
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import BaseCache
from django.core.cache import cache as default_cache


@dataclass(frozen=True)
class Throttled:
    """The limit is used up; a new window starts after `retry_after_seconds`."""

    retry_after_seconds: int

    @property
    def retry_after_minutes(self) -> int:
        return max(1, math.ceil(self.retry_after_seconds / 60))


def throttle_key(key_parts: Sequence[object], window_seconds: int, window: int) -> str:
    # Hashed: key parts may hold addresses and other text no cache key should carry.
    digest = hashlib.sha256("\x1f".join(str(part) for part in key_parts).encode()).hexdigest()[:40]
    return f"throttle:{digest}:{window_seconds}:{window}"


def throttle_hit(
    key_parts: Sequence[object],
    limit: int,
    window_seconds: int,
    *,
    now: float | None = None,
    cache: BaseCache | None = None,
) -> Throttled | None:
    """Count one try under `key_parts` (e.g. `("imap-login", "person", user.pk)`); Throttled once
    more than `limit` tries fell in this window of `window_seconds`, else None.

    A refused try takes no slot, so waiting out the window always frees the whole limit.
    """
    now = time.time() if now is None else now
    store = cache or default_cache
    window = int(now // window_seconds)
    window_ends = (window + 1) * window_seconds
    key = throttle_key(key_parts, window_seconds, window)
    # Kept a little past the window's end: a slot that expired early would hand out a try twice.
    timeout = math.ceil(window_ends - now) + 60
    slots = [f"{key}:{slot}" for slot in range(limit)]
    taken = store.get_many(slots)  # one read finds the free slots; `add` settles a race for one
    for slot in slots:
        if slot not in taken and store.add(slot, 1, timeout=timeout):
            return None
    return Throttled(retry_after_seconds=max(1, math.ceil(window_ends - now)))


def throttle_hit_each(
    keys: Sequence[Sequence[object]], limit: int, window_seconds: int, *, now: float | None = None
) -> Throttled | None:
    """One try counted under each of `keys` in turn (e.g. per person, then per account); the first that is
    used up answers, and the keys after it are not counted."""
    for key_parts in keys:
        throttled = throttle_hit(key_parts, limit, window_seconds, now=now)
        if throttled is not None:
            return throttled
    return None


def imap_login_throttle(*, person_id: int | str, address: str, now: float | None = None) -> Throttled | None:
    """One try at an IMAP password through our forms, counted for the person and for the account.

    `person_id` is a person's id, or another name for who tries (a reauthorization link's). Per person
    stops one person trying many accounts; per account stops many people (or one with
    several sign-ins) guessing one account's password.
    """
    keys = [("imap-login", "person", person_id), ("imap-login", "account", address.strip().lower())]
    return throttle_hit_each(keys, settings.IMAP_LOGIN_ATTEMPTS, settings.IMAP_LOGIN_WINDOW_SECONDS, now=now)
