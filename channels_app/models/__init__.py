from channels_app.models.channels import (
    Channel,
    ChannelEvent,
    ChannelStatus,
    ProviderRequestWindow,
)
from channels_app.models.company_sign_in import CompanySignIn, CompanySignInDomain
from channels_app.models.gmail_watch import GmailWatch
from channels_app.models.graph import GraphSubscription
from channels_app.models.messages import Backfill, BackfillStatus, MailFolder, Message
from channels_app.models.notifications import (
    CATEGORY_KINDS,
    PROBLEM_KINDS,
    STAFF_KINDS,
    AlertCategory,
    AlertEmailOptOut,
    EmailState,
    Notification,
    NotificationKind,
    SupportRequest,
    alert_category,
)
from channels_app.models.oauth_states import UsedOAuthState
from channels_app.models.organisation import (
    OrganisationConnection,
    OrganisationDomain,
    OrganisationProvider,
    OrganisationStatus,
)
from channels_app.models.reauth_links import LinkState, ReauthorizationLink
from channels_app.models.tenancy import (
    Company,
    CompanyMembership,
    Inbox,
    InboxKind,
    Role,
    User,
    Workspace,
    WorkspaceMembership,
)

# Stored on a channel, defined with the failure kinds it belongs to.
from channels_app.providers.base import ReasonCode

__all__ = [
    "CompanySignIn",
    "CompanySignInDomain",
    "CATEGORY_KINDS",
    "PROBLEM_KINDS",
    "AlertCategory",
    "AlertEmailOptOut",
    "STAFF_KINDS",
    "Backfill",
    "BackfillStatus",
    "Channel",
    "ChannelEvent",
    "ChannelStatus",
    "Company",
    "CompanyMembership",
    "EmailState",
    "GraphSubscription",
    "GmailWatch",
    "Inbox",
    "MailFolder",
    "InboxKind",
    "LinkState",
    "Message",
    "Notification",
    "NotificationKind",
    "OrganisationConnection",
    "OrganisationDomain",
    "OrganisationProvider",
    "OrganisationStatus",
    "ProviderRequestWindow",
    "ReasonCode",
    "ReauthorizationLink",
    "SupportRequest",
    "Role",
    "UsedOAuthState",
    "User",
    "Workspace",
    "WorkspaceMembership",
    "alert_category",
]
