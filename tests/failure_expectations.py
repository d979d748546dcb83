"""What each kind of failure must do to a channel, and who must hear of it: one definition for the
recorded suite (in-process fakes) and the live one (Local mail)."""

from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone

from channels_app.models import Channel, ChannelEvent, ChannelStatus, Notification, NotificationKind, ReasonCode, Role
from channels_app.providers import FailureKind


@pytest.fixture
def people(tenancy, make_user, make_workspace_membership):
    """Who may be told about the shared channel: its admins; plus staff and an unrelated member."""
    staff = make_user("staff@ourapp.test", is_staff=True)
    workspace_admin = make_user("wsadmin@acme.test")
    make_workspace_membership(user=workspace_admin, workspace=tenancy.workspace, role=Role.ADMIN)
    return {
        "admins": {tenancy.admin.email, workspace_admin.email},
        "company_admins": {tenancy.admin.email},
        "staff": {staff.email},
    }


def _told(kind: str) -> dict[str, str]:
    return {n.recipient.email: n.message for n in Notification.objects.filter(kind=kind).select_related("recipient")}


def assert_meaning(channel: Channel, expect: dict[str, Any], people: dict[str, set[str]], result: str) -> None:
    """The channel's state, the alerts and their words, for the kind of failure the entry must be."""
    channel.refresh_from_db()
    kind = expect["kind"]
    assert f"{kind}_failure" in result, result
    assert channel.last_error_code == expect["code"]
    if kind in (FailureKind.AUTH, FailureKind.POLICY):  # the stored reason is one of this kind's
        assert ReasonCode(channel.reason_code).failure_kind == kind
    if kind == "auth":
        assert channel.status == ChannelStatus.NEEDS_REAUTH
        assert channel.reason_code == expect["reason"]
        told = _told(NotificationKind.NEEDS_REAUTH)
        assert set(told) == people["admins"]
        assert all("needs to be reauthorized" in text for text in told.values())
        assert (
            ChannelEvent.objects.get(channel=channel, to_status=ChannelStatus.NEEDS_REAUTH).provider_code
            == (expect["code"])
        )
    elif kind == "policy":
        assert channel.status == ChannelStatus.BLOCKED
        told = _told(NotificationKind.BLOCKED)
        assert set(told) == people["admins"]
        for text in told.values():
            assert "Reauthorizing will not help: ask your IT administrator to" in text
            assert "blocked by an administrator" in text
        assert (
            ChannelEvent.objects.get(channel=channel, to_status=ChannelStatus.BLOCKED).provider_code == expect["code"]
        )
    elif kind == "configuration":
        assert channel.status == ChannelStatus.ACTIVE and channel.configuration_error
        told = _told(NotificationKind.CONFIGURATION)
        assert set(told) == people["company_admins"] | people["staff"]
        assert all("need fixing by staff" in text for text in told.values())
    else:
        assert channel.status == ChannelStatus.ACTIVE
        assert channel.next_attempt_at is not None
        if expect.get("retry_after"):
            assert channel.next_attempt_at >= timezone.now() + timedelta(seconds=expect["retry_after"] - 5)
        problems = Notification.objects.exclude(kind=NotificationKind.UNRECOGNISED)
        assert not problems.exists(), "a passing failure prompts nobody"
        told = _told(NotificationKind.UNRECOGNISED)
        if expect.get("unrecognised"):
            assert set(told) == people["staff"]
            assert all("Unrecognised answer" in t and expect["code"] in t for t in told.values())
        else:
            assert not told
    # Whoever is told gets one email each, and no email ever carries a token.
    assert len(mail.outbox) == Notification.objects.count()
    assert not any("refresh-1" in m.body or "expired-access" in m.body for m in mail.outbox)


def assert_authorize_meaning(text: str, expect: dict[str, Any]) -> None:
    """A redirect back with an error, on the page the person lands on: what happened and that nothing
    changed. It is told to the person who signed in, and alerts nobody."""
    assert "Nothing was changed" in text
    if expect["kind"] == "declined":
        assert "You declined access" in text
    elif expect["kind"] == "policy":
        assert "Reauthorizing will not help: ask your IT administrator to" in text
    elif expect["kind"] == "configuration":
        assert "needs fixing by our staff" in text and expect["code"] in text
    assert not Notification.objects.exists() and not mail.outbox
