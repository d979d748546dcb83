"""Who may see and manage which space and channel.

`access_*` helpers return the object or raise Http404 for both "missing" and
"forbidden", so an id reveals nothing to someone who may not see it. Write
checks (`require_*`) raise PermissionDenied (403) for people who may see but
not change.
"""

import enum
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404
from django.urls import reverse

from channels_app.models import Channel, Company, CompanyMembership, Inbox, InboxKind, Role, User, Workspace


def company_membership(user: User) -> CompanyMembership | None:
    if not user.is_authenticated:
        return None
    try:
        return user.company_membership
    except CompanyMembership.DoesNotExist:
        return None


def is_company_admin(user: User, company_id: int) -> bool:
    membership = company_membership(user)
    return membership is not None and membership.company_id == company_id and membership.role == Role.ADMIN


def workspace_role(user: User, workspace: Workspace) -> str | None:
    """The person's effective role in a workspace: company admins administer every workspace."""
    if is_company_admin(user, workspace.company_id):
        return Role.ADMIN
    membership = user.workspace_memberships.filter(workspace=workspace).first()
    return membership.role if membership else None


def access_company(user: User) -> Company:
    """The company whose settings this person may open: company admins only."""
    membership = company_membership(user)
    if membership is None or membership.role != Role.ADMIN:
        raise Http404("No such page.")
    return membership.company


def visible_workspaces(user: User) -> QuerySet[Workspace]:
    membership = company_membership(user)
    if membership is None:
        return Workspace.objects.none()
    workspaces = Workspace.objects.filter(company_id=membership.company_id)
    if membership.role == Role.ADMIN:
        return workspaces
    return workspaces.filter(memberships__user=user)


def access_workspace(user: User, workspace_id: int) -> Workspace:
    workspace = visible_workspaces(user).filter(pk=workspace_id).first()
    if workspace is None:
        raise Http404("No such workspace.")
    return workspace


def visible_channels(user: User) -> QuerySet[Channel]:
    """Channels a person may see: their own individual inboxes, and shared
    inboxes of the workspaces they may see."""
    if not user.is_authenticated:
        return Channel.objects.none()
    return Channel.objects.filter(
        Q(inbox__kind=InboxKind.INDIVIDUAL, inbox__owner=user)
        | Q(inbox__kind=InboxKind.SHARED, inbox__workspace__in=visible_workspaces(user))
    )


def visible_inboxes(user: User) -> QuerySet[Inbox]:
    """The inboxes of visible_channels, with those that have no channel (yet, or any more)."""
    if not user.is_authenticated:
        return Inbox.objects.none()
    return Inbox.objects.filter(
        Q(kind=InboxKind.INDIVIDUAL, owner=user) | Q(kind=InboxKind.SHARED, workspace__in=visible_workspaces(user))
    )


def access_channel(user: User, channel_id: int) -> Channel:
    channel = visible_channels(user).select_related("inbox", "inbox__workspace", "inbox__owner").filter(pk=channel_id)
    found = channel.first()
    if found is None:
        raise Http404("No such channel.")
    return found


def can_manage_channel(user: User, channel: Channel) -> bool:
    inbox = channel.inbox
    if inbox.kind == InboxKind.INDIVIDUAL:
        return inbox.owner_id == user.pk
    assert inbox.workspace is not None
    return workspace_role(user, inbox.workspace) == Role.ADMIN


def require_manage_channel(user: User, channel: Channel) -> None:
    if not can_manage_channel(user, channel):
        raise PermissionDenied("Only the inbox owner or an admin can change this channel.")


class SpaceKind(enum.StrEnum):
    """The kinds of settings space. A StrEnum: its values name the URL namespaces (urls.py) and templates
    compare them as text."""

    COMPANY = "company"
    WORKSPACE = "workspace"
    PERSONAL = "personal"


@dataclass(frozen=True)
class Space:
    """One entry of the settings sidebar: company, a workspace, or personal."""

    kind: SpaceKind
    label: str
    workspace_id: int | None = None

    @classmethod
    def of_company(cls, company: Company) -> "Space":
        return cls(SpaceKind.COMPANY, f"{company.name} (company)")

    @classmethod
    def of_workspace(cls, workspace: Workspace) -> "Space":
        return cls(SpaceKind.WORKSPACE, workspace.name, workspace.pk)

    @property
    def key(self) -> str:
        return f"workspace-{self.workspace_id}" if self.kind is SpaceKind.WORKSPACE else self.kind.value

    @property
    def url(self) -> str:
        """The space's Channels page, the only settings page a space has so far."""
        if self.kind is SpaceKind.COMPANY:
            return reverse("company_channels")
        if self.kind is SpaceKind.WORKSPACE:
            return reverse("workspace_channels", args=[self.workspace_id])
        return reverse("personal_channels")

    @property
    def add_url(self) -> str:
        if self.kind is SpaceKind.WORKSPACE:
            return reverse("workspace:add_channel", args=[self.workspace_id])
        return reverse(f"{self.kind.value}:add_channel")


# Everyone has one personal space (their own individual inbox and settings).
PERSONAL_SPACE = Space(SpaceKind.PERSONAL, "Personal settings")


def settings_spaces(user: User) -> list[Space]:
    spaces: list[Space] = []
    membership = company_membership(user)
    if membership is not None and membership.role == Role.ADMIN:
        spaces.append(Space.of_company(membership.company))
    spaces.extend(Space.of_workspace(w) for w in visible_workspaces(user))
    spaces.append(PERSONAL_SPACE)
    return spaces


def space_of_channel(channel: Channel) -> Space:
    return space_of_inbox(channel.inbox)


def space_of_inbox(inbox: Inbox) -> Space:
    if inbox.kind == InboxKind.INDIVIDUAL:
        return PERSONAL_SPACE
    assert inbox.workspace is not None
    return Space.of_workspace(inbox.workspace)


class NoCompany(Exception):
    """Channels belong to a company, and this person is in none: they cannot add one (they are told why)."""


def space_for_add(user: User, kind: SpaceKind, workspace_id: int | None) -> tuple[Space, list[Workspace]]:
    """The space a channel is being added to, and the workspaces its inbox may go in
    (none: an individual inbox). 404 for a space one cannot see, 403 for one one cannot change; NoCompany
    for personal settings of someone in no company."""
    if kind is SpaceKind.COMPANY:
        company = access_company(user)
        return Space.of_company(company), list(company.workspaces.all())
    if kind is SpaceKind.WORKSPACE:
        assert workspace_id is not None
        workspace = access_workspace(user, workspace_id)
        if workspace_role(user, workspace) != Role.ADMIN:
            raise PermissionDenied("Only admins of this workspace can add channels to it.")
        return Space.of_workspace(workspace), [workspace]
    if company_membership(user) is None:
        raise NoCompany
    return PERSONAL_SPACE, []
