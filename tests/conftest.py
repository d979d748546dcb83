"""Factories for every model, and the three actors every view test uses.

Factories are plain functions returned by fixtures, so a test reads as
`make_channel(inbox=..., status=...)` with only what matters to it spelled out.
"""

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from hypothesis import settings as hypothesis_settings

from channels_app.models import (
    Channel,
    ChannelEvent,
    ChannelStatus,
    Company,
    CompanyMembership,
    Inbox,
    InboxKind,
    Message,
    Notification,
    NotificationKind,
    Role,
    User,
    Workspace,
    WorkspaceMembership,
)

# Fixtures for tests against the real local provider live beside this file.
pytest_plugins = [
    "tests.provider_fixtures",
    "tests.gmail_push_fixtures",
    "tests.provider_fakes",
    "tests.failure_expectations",
    "tests.network_fakes",
    "tests.organisation_fixtures",
    "tests.tls_fakes",
    "tests.skip_summary",
]

# Property tests run the same examples every time, few enough to stay fast.
hypothesis_settings.register_profile("repeatable", derandomize=True, max_examples=200, deadline=None, database=None)
hypothesis_settings.load_profile("repeatable")

_seq = itertools.count(1)
PASSWORD = "correct horse battery staple"


@pytest.fixture
def make_user(db: None) -> Callable[..., User]:
    def make(email: str | None = None, **fields: Any) -> User:
        n = next(_seq)
        email = email or f"person{n}@example.test"
        user = User(username=email, email=email, **fields)
        user.set_password(PASSWORD)
        user.save()
        return user

    return make


@pytest.fixture
def make_company(db: None) -> Callable[..., Company]:
    def make(name: str | None = None) -> Company:
        return Company.objects.create(name=name or f"Company {next(_seq)}")

    return make


@pytest.fixture
def make_company_membership(db: None) -> Callable[..., CompanyMembership]:
    def make(*, user: User, company: Company, role: str = Role.MEMBER) -> CompanyMembership:
        return CompanyMembership.objects.create(user=user, company=company, role=role)

    return make


@pytest.fixture
def make_workspace(db: None, make_company: Callable[..., Company]) -> Callable[..., Workspace]:
    def make(company: Company | None = None, name: str | None = None) -> Workspace:
        return Workspace.objects.create(company=company or make_company(), name=name or f"Workspace {next(_seq)}")

    return make


@pytest.fixture
def make_workspace_membership(db: None) -> Callable[..., WorkspaceMembership]:
    def make(*, user: User, workspace: Workspace, role: str = Role.MEMBER) -> WorkspaceMembership:
        return WorkspaceMembership.objects.create(user=user, workspace=workspace, role=role)

    return make


@pytest.fixture
def make_inbox(db: None) -> Callable[..., Inbox]:
    def make(*, workspace: Workspace | None = None, owner: User | None = None, name: str | None = None) -> Inbox:
        if owner is not None:
            company = owner.company_membership.company
            return Inbox.objects.create(
                company=company, kind=InboxKind.INDIVIDUAL, owner=owner, name=name or f"{owner.email} inbox"
            )
        assert workspace is not None, "a shared inbox needs a workspace"
        return Inbox.objects.create(
            company=workspace.company, kind=InboxKind.SHARED, workspace=workspace, name=name or f"Inbox {next(_seq)}"
        )

    return make


@pytest.fixture
def make_channel(db: None) -> Callable[..., Channel]:
    def make(*, inbox: Inbox, address: str | None = None, provider: str = "gmail", **fields: Any) -> Channel:
        return Channel.objects.create(
            inbox=inbox, address=address or f"box{next(_seq)}@example.test", provider=provider, **fields
        )

    return make


@pytest.fixture
def make_event(db: None) -> Callable[..., ChannelEvent]:
    def make(*, channel: Channel, to_status: str = ChannelStatus.NEEDS_REAUTH, **fields: Any) -> ChannelEvent:
        return ChannelEvent.objects.create(channel=channel, to_status=to_status, **fields)

    return make


@pytest.fixture
def make_message(db: None) -> Callable[..., Message]:
    def make(*, channel: Channel, uid: int | None = None, **fields: Any) -> Message:
        fields.setdefault("uidvalidity", 1)
        uid = uid or next(_seq)
        fields.setdefault("identity", f"test:{uid}:{next(_seq)}")
        return Message.objects.create(channel=channel, uid=uid, **fields)

    return make


@pytest.fixture
def make_notification(db: None) -> Callable[..., Notification]:
    def make(
        *, recipient: User, channel: Channel, kind: str = NotificationKind.NEEDS_REAUTH, **fields: Any
    ) -> Notification:
        return Notification.objects.create(recipient=recipient, channel=channel, kind=kind, **fields)

    return make


@dataclass
class Tenancy:
    """One company with a workspace and three actors, plus an outsider from another company.

    - admin: company admin
    - member: plain member of `workspace`, owner of an individual inbox
    - outsider: admin of a different company
    """

    company: Company
    workspace: Workspace
    admin: User
    member: User
    outsider: User
    shared_channel: Channel
    member_channel: Channel

    def client_for(self, user: User) -> Client:
        client = Client()
        client.force_login(user)
        return client


@pytest.fixture
def tenancy(
    make_user: Callable[..., User],
    make_company: Callable[..., Company],
    make_company_membership: Callable[..., CompanyMembership],
    make_workspace: Callable[..., Workspace],
    make_workspace_membership: Callable[..., WorkspaceMembership],
    make_inbox: Callable[..., Inbox],
    make_channel: Callable[..., Channel],
) -> Tenancy:
    company = make_company("Acme")
    workspace = make_workspace(company, "Support")
    admin = make_user("admin@acme.test")
    member = make_user("member@acme.test")
    make_company_membership(user=admin, company=company, role=Role.ADMIN)
    make_company_membership(user=member, company=company, role=Role.MEMBER)
    make_workspace_membership(user=member, workspace=workspace, role=Role.MEMBER)
    other = make_company("Globex")
    outsider = make_user("outsider@globex.test")
    make_company_membership(user=outsider, company=other, role=Role.ADMIN)
    shared = make_channel(inbox=make_inbox(workspace=workspace, name="Support"), address="support@acme.test")
    personal = make_channel(inbox=make_inbox(owner=member, name="Member's inbox"), address="member@acme.test")
    return Tenancy(company, workspace, admin, member, outsider, shared, personal)
