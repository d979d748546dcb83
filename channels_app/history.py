"""A channel's history as a story, for its Overview: each status change said in people's words.

One list for what used to be two tables (incidents and status changes): a trouble that began says what stopped,
the change that ended it says how long mail waited, one still going on is marked, and so is one a disconnect ended
(a reconnect after it starts afresh). What caused a change in our code ("sync task", "probe task") and the
provider's own code for its answer are for staff alone.
"""

from dataclasses import dataclass
from datetime import datetime

from django.utils.timesince import timesince

from channels_app.models import Channel, ChannelEvent, ChannelStatus
from channels_app.providers import get_provider
from channels_app.selectors import INCIDENT_STATUSES, channel_incidents

# How many changes the Overview tells, newest first.
HISTORY_LENGTH = 50
# A cause our staff's actions are logged with (services/health.py: "staff action by <name>").
STAFF_CAUSE = "staff action"
# Reasons written for a person's own action repeat what the sentence already says; what follows them stays.
PERSON_REASONS = ("Connected by ", "Reauthorized by ", "Disconnected by ")


@dataclass(frozen=True)
class HistoryEntry:
    at: datetime
    sentence: str
    # The reason given, when it adds to the sentence ("Access was revoked or the password was changed").
    detail: str = ""
    # For staff only: what in our code caused it, and the provider's code.
    staff_detail: str = ""
    trouble: bool = False
    ongoing: bool = False
    # A trouble that someone ended by disconnecting the channel: it neither goes on nor recovered.
    until_disconnected: bool = False


def _who(event: ChannelEvent) -> str:
    if event.actor is not None:
        return event.actor.first_name or str(event.actor)
    if event.cause.startswith(STAFF_CAUSE):
        return "Our support"
    return ""


def _sentence(event: ChannelEvent, provider: str, waited: str) -> str:
    who = _who(event)
    before, now = event.from_status, event.to_status
    if before == now:
        # A note on a status that did not change (a link sent, push gone quiet): its reason is the sentence.
        return event.reason or f"{who or 'We'} checked the connection."
    if not before:
        return f"{who or 'Someone'} connected the channel."
    if now == ChannelStatus.ACTIVE:
        back = f"mail comes in again{f' after {waited}' if waited else ''}"
        if before == ChannelStatus.DISCONNECTED:
            return f"{who or 'Someone'} connected it again: {back}."
        if event.actor is not None:
            return f"{who} reauthorized it: {back}."
        if event.reason.startswith("Reauthorized"):
            return f"It was reauthorized: {back}."
        return f"The connection works again: {back}."
    if now == ChannelStatus.DISCONNECTED:
        return f"{who or 'Someone'} disconnected it: mail no longer comes in."
    if now == ChannelStatus.NEEDS_REAUTH:
        if who == "Our support":
            return "Our support asked for it to be reauthorized: mail no longer comes in until someone does."
        return f"{provider} stopped accepting our access: mail no longer comes in until someone reauthorizes it."
    if now == ChannelStatus.BLOCKED:
        return f"{provider}'s administrator blocked our access: mail no longer comes in; reauthorizing will not help."
    return f"{provider} could not be reached: new mail waits there while we keep trying."


def _detail(event: ChannelEvent, sentence: str) -> str:
    reason = event.reason
    if reason == sentence or (event.to_status == ChannelStatus.ACTIVE and reason.startswith("The connection ")):
        return ""
    if reason.startswith(PERSON_REASONS):
        # "Reauthorized by Dana. Opened through delegate it@acme.test.": the first sentence is said already.
        _said, _stop, rest = reason.partition(". ")
        return rest
    return reason


def channel_history(channel: Channel, *, staff: bool, limit: int = HISTORY_LENGTH) -> list[HistoryEntry]:
    """The channel's changes, newest first, each as a sentence; `staff` adds our causes and provider codes."""
    provider = get_provider(channel.provider).label
    incidents = channel_incidents(channel)
    ongoing = {i.started.pk for i in incidents if i.ongoing}
    until_disconnected = {i.started.pk for i in incidents if i.ended_by_disconnect}
    # The longest wait a recovery ended (incidents can overlap: unreachable, then needs reauthorization).
    started_of: dict[int, datetime] = {}
    for incident in incidents:
        if incident.ended is not None and not incident.ended_by_disconnect:
            earliest = started_of.get(incident.ended.pk, incident.started_at)
            started_of[incident.ended.pk] = min(earliest, incident.started_at)
    entries = []
    for event in channel.events.select_related("actor")[:limit]:
        started = started_of.get(event.pk)
        waited = timesince(started, event.created_at) if started else ""
        sentence = _sentence(event, provider, waited)
        codes = [event.cause, event.provider_code] if staff else []
        entries.append(
            HistoryEntry(
                at=event.created_at,
                sentence=sentence,
                detail=_detail(event, sentence),
                staff_detail=" · ".join(code for code in codes if code),
                trouble=event.to_status in INCIDENT_STATUSES and event.from_status != event.to_status,
                ongoing=event.pk in ongoing,
                until_disconnected=event.pk in until_disconnected,
            )
        )
    return entries
