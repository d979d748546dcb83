"""A channel's history told as a story: each change a sentence in people's words; our causes and codes for staff."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from channels_app.history import channel_history

DEVELOPER_WORDS = ("sync task", "probe task", "task", "invalid_grant", "AADSTS", "→")


def ago(**delta):
    return timezone.now() - timedelta(**delta)


def _story(channel, staff=False):
    return [(e.sentence, e.detail) for e in channel_history(channel, staff=staff)]


@pytest.fixture
def channel(tenancy):
    return tenancy.shared_channel


@pytest.fixture
def event(channel, make_event):
    """One change of the shared channel: `event("active", "needs_reauth", reason=...)`."""

    def make(from_status, to_status, **fields):
        return make_event(channel=channel, from_status=from_status, to_status=to_status, **fields)

    return make


def test_a_revocation_and_a_reauthorization_read_as_a_story_newest_first(tenancy, channel, event):
    tenancy.admin.first_name = "Dana"
    tenancy.admin.save()
    event("", "active", actor=tenancy.admin, created_at=ago(days=9), reason="Connected by Dana.")
    event(
        "active",
        "needs_reauth",
        cause="sync task",
        provider_code="invalid_grant",
        reason="Access was revoked or the password was changed.",
        created_at=ago(hours=5),
    )
    event(
        "needs_reauth",
        "active",
        actor=tenancy.admin,
        reason="Reauthorized by Dana. Opened through delegate it@acme.test.",
        created_at=ago(hours=2),
    )
    assert _story(channel) == [
        ("Dana reauthorized it: mail comes in again after 3\xa0hours.", "Opened through delegate it@acme.test."),
        (
            "Gmail stopped accepting our access: mail no longer comes in until someone reauthorizes it.",
            "Access was revoked or the password was changed.",
        ),
        ("Dana connected the channel.", ""),
    ]
    told = " ".join(f"{s} {d}" for s, d in _story(channel))
    assert not [word for word in DEVELOPER_WORDS if word in told]


def test_staff_also_see_what_in_our_code_caused_a_change_and_the_providers_code(channel, event):
    event("active", "needs_reauth", cause="sync task", provider_code="invalid_grant")
    assert [e.staff_detail for e in channel_history(channel, staff=True)] == ["sync task · invalid_grant"]
    assert [e.staff_detail for e in channel_history(channel, staff=False)] == [""]


def test_an_outage_that_ended_by_itself_says_how_long_mail_waited(channel, event):
    event(
        "active",
        "unreachable",
        cause="probe task",
        reason="Unreachable since 10:00 UTC: the server did not answer.",
        created_at=ago(minutes=95),
    )
    event(
        "unreachable",
        "active",
        cause="probe task",
        reason="The connection is reachable again.",
        created_at=ago(minutes=5),
    )
    back, down = channel_history(channel, staff=False)
    assert (back.sentence, back.detail, back.trouble) == (
        "The connection works again: mail comes in again after 1\xa0hour, 30\xa0minutes.",
        "",
        False,
    )
    assert down.sentence == "Gmail could not be reached: new mail waits there while we keep trying."
    assert down.trouble and not down.ongoing


def test_a_trouble_still_going_on_is_marked(channel, event):
    event("active", "blocked", reason="Conditional Access blocks it.")
    [entry] = channel_history(channel, staff=False)
    assert entry.ongoing and entry.trouble
    assert entry.sentence == (
        "Gmail's administrator blocked our access: mail no longer comes in; reauthorizing will not help."
    )
    assert entry.detail == "Conditional Access blocks it."


def test_our_support_asking_and_a_person_disconnecting_name_who_did_it(tenancy, channel, event):
    event("active", "needs_reauth", cause="staff action by root", created_at=ago(hours=3))
    event(
        "needs_reauth",
        "disconnected",
        actor=tenancy.member,
        reason=f"Disconnected by {tenancy.member}.",
        created_at=ago(hours=2),
    )
    event(
        "disconnected",
        "active",
        actor=tenancy.member,
        reason=f"Reauthorized by {tenancy.member}.",
        created_at=ago(hours=1),
    )
    assert _story(channel) == [
        # The disconnect ended the story of the reauthorization asked for: the reconnect starts afresh.
        (f"{tenancy.member} connected it again: mail comes in again.", ""),
        (f"{tenancy.member} disconnected it: mail no longer comes in.", ""),
        ("Our support asked for it to be reauthorized: mail no longer comes in until someone does.", ""),
    ]


def test_a_trouble_ended_by_a_disconnect_reads_as_such_and_no_longer_as_going_on(channel, event):
    event("active", "unreachable", created_at=ago(hours=5))
    event("unreachable", "needs_reauth", created_at=ago(hours=4))
    event("needs_reauth", "disconnected", created_at=ago(hours=3))
    disconnect, reauth, unreachable = channel_history(channel, staff=False)
    assert [(e.trouble, e.ongoing, e.until_disconnected) for e in (reauth, unreachable)] == [(True, False, True)] * 2
    assert not (disconnect.trouble or disconnect.ongoing or disconnect.until_disconnected)


def test_after_a_disconnect_a_reconnect_starts_afresh_and_a_new_trouble_goes_on(channel, event):
    event("active", "blocked", created_at=ago(days=3))
    event("blocked", "disconnected", created_at=ago(days=2))
    event("disconnected", "active", created_at=ago(days=1))
    event("active", "unreachable", created_at=ago(hours=1))
    entries = channel_history(channel, staff=False)
    assert [(e.ongoing, e.until_disconnected) for e in entries] == [
        (True, False),  # the new outage
        (False, False),  # the reconnect: no wait to tell, the blocked access ended with the disconnect
        (False, False),
        (False, True),
    ]
    assert entries[1].sentence == "Someone connected it again: mail comes in again."


def test_the_overview_says_a_disconnect_ended_the_trouble(tenancy, channel, event):
    event("active", "needs_reauth", created_at=ago(hours=2))
    event("needs_reauth", "disconnected", created_at=ago(hours=1))
    page = tenancy.client_for(tenancy.admin).get(reverse("channel_overview", args=[channel.pk])).content.decode()
    assert 'data-testid="until-disconnected">Until it was disconnected.' in page
    assert 'data-testid="ongoing"' not in page


def test_a_note_on_an_unchanged_status_is_told_by_its_reason(channel, event):
    event("active", "active", cause="push health", reason="Gmail push went silent; we poll every minute meanwhile.")
    assert _story(channel) == [("Gmail push went silent; we poll every minute meanwhile.", "")]
