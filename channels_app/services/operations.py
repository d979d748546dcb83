"""The background operations on one channel, each a real request to its provider.

Each takes a channel (leased by `health.run_check`) and returns a line saying
what it did; failures are raised, already classified, by the provider layer.
"""

import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone
from imapclient import IMAPClient

from channels_app import metrics
from channels_app.metrics import MailPath
from channels_app.models import Backfill, Channel
from channels_app.providers import ProviderFailure, get_provider
from channels_app.selectors.backfill import budget_remaining, open_backfill
from channels_app.selectors.subscriptions import graph_push_wanted
from channels_app.services import graph_push
from channels_app.services.backfill import backfill_fail, backfill_finish, backfill_mark_running, backfill_pause
from channels_app.services.budget import next_reset
from channels_app.services.gmail_push import gmail_provider, poll_found_mail, watch_renew
from channels_app.services.mailbox import channel_mailbox, refresh_tokens
from channels_app.services.sync import import_new_messages

Mailbox = Callable[[Channel], AbstractContextManager[IMAPClient]]


def sync(channel: Channel, *, mailbox: Mailbox = channel_mailbox, push: MailPath | None = None) -> str:
    """Import what is new in every folder; an open backfill rides along and gets its receipt at the end.

    While the daily download budget is used up nothing is fetched (no login either): the import
    is paused, and says until when, without alerting anyone. `mailbox` opens the connection: a fresh
    login, or the IDLE listener's connection already signed in (services/idle.py). `push`: how the new
    mail was announced, when it was; each message stored then gives its latency (channels_app/metrics.py).
    """
    started = time.monotonic()
    backfill = open_backfill(channel)
    if budget_remaining(channel) == 0:
        return _paused(backfill, next_reset())
    if backfill is not None:
        backfill_mark_running(backfill)
    try:
        with mailbox(channel) as client:
            outcome = import_new_messages(channel, client, backfill=backfill, keep_arrivals=push is not None)
    except ProviderFailure as failure:
        if backfill is not None:
            backfill_fail(backfill, failure.message)
        raise
    # A sync that found nothing new is a sync too: "Last sync" and the safety-net poll beside IDLE
    # (selectors.due.channels_to_sync) count from it. Only while the lease is ours, as every write of a sync.
    Channel.objects.filter(pk=channel.pk, lease_owner=channel.lease_owner).update(last_synced_at=timezone.now())
    metrics.sync_finished(channel.provider, time.monotonic() - started)
    if push is not None:
        metrics.mail_stored(channel.provider, push, outcome.arrivals or [], timezone.now())
    done = f"imported {outcome.imported} new message(s)"
    if outcome.relocated:
        done += f", found {outcome.relocated} stored one(s) moved or renumbered"
    if outcome.paused_until is not None:
        return f"{done}; {_paused(backfill, outcome.paused_until)}"
    if backfill is not None:
        return f"{done}; {backfill_finish(backfill)}"
    return done


def poll(channel: Channel) -> str:
    """The scheduled sync: as `sync`, and mail it finds tells whether a Gmail watch or a Graph
    subscription went silent (services/push_silence.py)."""
    started = timezone.now()
    done = sync(channel)
    poll_found_mail(channel, imported_since=started)
    graph_push.poll_found_mail(channel, imported_since=started)
    return done


def _paused(backfill: Backfill | None, until: datetime) -> str:
    if backfill is not None:
        backfill_pause(backfill, until)
    return f"paused: the daily download limit is used up until {until:%Y-%m-%d %H:%M} UTC"


def probe(channel: Channel) -> str:
    """Do our credentials still open the mailbox? A login and a NOOP, nothing imported."""
    with channel_mailbox(channel) as client:
        client.noop()
    return "credentials work"


def keep_alive(channel: Channel) -> str:
    """Use the refresh token well before the provider would drop it for disuse, and keep the rotated one."""
    if not get_provider(channel.provider).uses_oauth or channel.organisation_connection_id is not None:
        # Nothing of ours to keep alive: a password, or tokens minted through the organisation connection.
        return probe(channel)
    refresh_tokens(channel)
    return "tokens refreshed"


def renew_subscription(channel: Channel) -> str:
    """Renew our standing with the provider by a real authenticated round trip.

    A Gmail channel with push configured renews its watch (users.watch; it lapses after 7 days); a
    Microsoft channel renews (or creates) its Graph subscription for new mail (graph_push.py). For our
    other IMAP-based channels the renewal is a fresh login and SELECT, which a provider that stopped
    honouring our access refuses just the same.
    """
    gmail = gmail_provider(channel)
    if gmail is not None:
        return watch_renew(channel, gmail)
    if graph_push_wanted(channel):
        return graph_push.or_polling(graph_push.subscription_renew)(channel)
    with channel_mailbox(channel) as client:
        client.select_folder("INBOX", readonly=True)
    Channel.objects.filter(pk=channel.pk).update(subscription_renewed_at=timezone.now())
    return "subscription renewed"


def keep_alive_due(channel: Channel) -> bool:
    last = channel.token_refreshed_at or channel.created_at
    return timezone.now() - last >= timedelta(hours=settings.KEEPALIVE_AFTER_HOURS)


def renewal_due(channel: Channel) -> bool:
    last = channel.subscription_renewed_at or channel.created_at
    hours = get_provider(channel.provider).renewal_after_hours
    return timezone.now() - last >= timedelta(hours=hours)
