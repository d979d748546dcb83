"""The channels a settings space lists (company, a workspace, personal), and the page of them a Channels
page shows with its banners."""

from dataclasses import dataclass

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet

from channels_app.models import Channel, ChannelStatus, Company, InboxKind, User, Workspace
from channels_app.models.channels import ATTENTION_STATUSES

# The banner names this many channels and then says "and more".
ATTENTION_NAMED = 10


def company_channels(company: Company) -> QuerySet[Channel]:
    return Channel.objects.filter(inbox__company=company, inbox__kind=InboxKind.SHARED)


def workspace_channels(workspace: Workspace) -> QuerySet[Channel]:
    return Channel.objects.filter(inbox__workspace=workspace, inbox__kind=InboxKind.SHARED)


def personal_channels(user: User) -> QuerySet[Channel]:
    return Channel.objects.filter(inbox__kind=InboxKind.INDIVIDUAL, inbox__owner=user)


@dataclass(frozen=True)
class ChannelList:
    """One page of a space's channels, and the first few that need attention (and those disconnected),
    named by the banners, each with whether there are more than ATTENTION_NAMED."""

    page: "Page[Channel]"  # a string: Page is generic in the type stubs alone
    attention: list[Channel]
    attention_more: bool
    disconnected: list[Channel]
    disconnected_more: bool


def _first_named(channels: QuerySet[Channel]) -> tuple[list[Channel], bool]:
    # What the banners' buttons read: organisation_connection_id too, since a channel through it has no Reauthorize.
    fields = ("pk", "address", "status", "provider", "organisation_connection_id")
    rows = list(channels.order_by("address").only(*fields)[: ATTENTION_NAMED + 1])
    return rows[:ATTENTION_NAMED], len(rows) > ATTENTION_NAMED


def channel_list(channels: QuerySet[Channel], page_number: str | None) -> ChannelList:
    """A constant number of queries whatever the number of channels: one page of rows, one count,
    and the first few channels that need attention (and those disconnected) for the banners."""
    rows = channels.select_related("inbox", "inbox__workspace").order_by("address")
    page = Paginator(rows, settings.CHANNELS_PAGE_SIZE).get_page(page_number)
    attention, attention_more = _first_named(channels.filter(status__in=ATTENTION_STATUSES))
    disconnected, disconnected_more = _first_named(channels.filter(status=ChannelStatus.DISCONNECTED))
    return ChannelList(page, attention, attention_more, disconnected, disconnected_more)
