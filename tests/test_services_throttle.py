"""The shared rate limit: tries counted in Django's cache, so a limit holds across processes.

Times are passed in (`now`), never read from the wall clock.
"""

import os
import uuid

import pytest
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache

from channels_app.services.throttle import Throttled, imap_login_throttle, throttle_hit

REDIS_URL = "redis://127.0.0.1:6379/10"
START = 1_800_000_000.0  # the start of a 15-minute window (divisible by 900)


def _redis_clients():
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError:
        if os.environ.get("CI") == "true":
            pytest.fail("CI's machine has Redis on 127.0.0.1:6379, but it did not answer")
        pytest.skip("no Redis server on 127.0.0.1:6379")
    prefix = f"test-throttle-{uuid.uuid4().hex}"  # this run's keys only; they expire with their window
    return RedisCache(REDIS_URL, {"KEY_PREFIX": prefix}), RedisCache(REDIS_URL, {"KEY_PREFIX": prefix})


@pytest.mark.django_db
@pytest.mark.parametrize("backend", ["database", "redis"])
def test_the_limit_holds_across_two_cache_clients_of_the_same_backend(backend):
    if backend == "database":
        first, second = caches.create_connection("default"), caches.create_connection("default")
        assert first is not second and first.__class__.__name__ == "DatabaseCache"
    else:
        first, second = _redis_clients()
    key = ("support", 1, uuid.uuid4().hex)
    assert throttle_hit(key, 3, 900, now=START, cache=first) is None
    assert throttle_hit(key, 3, 900, now=START + 1, cache=second) is None
    assert throttle_hit(key, 3, 900, now=START + 2, cache=first) is None
    assert throttle_hit(key, 3, 900, now=START + 3, cache=second) == Throttled(retry_after_seconds=897)
    assert throttle_hit(key, 3, 900, now=START + 4, cache=first) == Throttled(retry_after_seconds=896)


@pytest.mark.django_db
def test_a_new_window_frees_the_whole_limit():
    key = ("support", 1, 2)
    for second in range(3):
        assert throttle_hit(key, 3, 900, now=START + second) is None
    throttled = throttle_hit(key, 3, 900, now=START + 300)
    assert throttled == Throttled(retry_after_seconds=600)
    assert throttled.retry_after_minutes == 10
    for second in range(3):
        assert throttle_hit(key, 3, 900, now=START + 900 + second) is None
    assert throttle_hit(key, 3, 900, now=START + 1799) == Throttled(retry_after_seconds=1)


@pytest.mark.django_db
def test_each_key_and_each_window_length_counts_on_its_own():
    assert throttle_hit(("a", 1), 1, 900, now=START) is None
    assert throttle_hit(("a", 1), 1, 900, now=START) is not None
    assert throttle_hit(("a", 2), 1, 900, now=START) is None
    assert throttle_hit(("b", 1), 1, 900, now=START) is None
    assert throttle_hit(("a", 1), 1, 3600, now=START) is None


@pytest.mark.django_db
def test_imap_logins_are_limited_per_person_and_per_account(settings):
    settings.IMAP_LOGIN_ATTEMPTS = 2
    settings.IMAP_LOGIN_WINDOW_SECONDS = 900
    # One person trying many accounts.
    assert imap_login_throttle(person_id=1, address="a@example.test", now=START) is None
    assert imap_login_throttle(person_id=1, address="b@example.test", now=START) is None
    assert imap_login_throttle(person_id=1, address="c@example.test", now=START) is not None
    # Many people guessing one account (spelt differently).
    assert imap_login_throttle(person_id=2, address="target@example.test", now=START) is None
    assert imap_login_throttle(person_id=3, address=" Target@Example.test", now=START) is None
    assert imap_login_throttle(person_id=4, address="target@example.test", now=START) is not None
    # The next window starts over.
    assert imap_login_throttle(person_id=1, address="c@example.test", now=START + 900) is None


def test_the_imap_login_limit_defaults_to_5_tries_in_15_minutes():
    from django.conf import settings

    assert (settings.IMAP_LOGIN_ATTEMPTS, settings.IMAP_LOGIN_WINDOW_SECONDS) == (5, 900)
