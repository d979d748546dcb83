from channels_app.models.channels import (
    Channel,
    ChannelEvent,
    ChannelStatus,
    ProviderRequestWindow,
    ReasonCode,
)
from channels_app.models.company_sign_in import CompanySignIn, CompanySignInDomain
from channels_app.models.messages import Backfill, BackfillStatus, MailFolder, Message
from channels_app.models.notifications import (
    PROBLEM_KINDS,
    STAFF_KINDS,
    EmailState,
    Notification,
    NotificationKind,
    SupportRequest,
)
from channels_app.models.oauth_states import UsedOAuthState
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

__all__ = [
    "CompanySignIn",
    "CompanySignInDomain",
    "PROBLEM_KINDS",
    "STAFF_KINDS",
    "Backfill",
    "BackfillStatus",
    "Channel",
    "ChannelEvent",
    "ChannelStatus",
    "Company",
    "CompanyMembership",
    "EmailState",
    "Inbox",
    "MailFolder",
    "InboxKind",
    "LinkState",
    "Message",
    "Notification",
    "NotificationKind",
    "ProviderRequestWindow",
    "ReasonCode",
    "ReauthorizationLink",
    "SupportRequest",
    "Role",
    "UsedOAuthState",
    "User",
    "Workspace",
    "WorkspaceMembership",
]
