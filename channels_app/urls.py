from django.urls import include, path

from channels_app.permissions import SpaceKind
from channels_app.views import (
    alert_preferences,
    alerts,
    backfill,
    channel_actions,
    channel_pages,
    company_sign_in,
    connect,
    gmail_push,
    graph_webhook,
    health,
    home,
    messages_tab,
    metrics,
    notifications,
    oauth_callback,
    organisation,
    organisation_add,
    reauth_links,
    reauthorize,
    space_pages,
    support,
    time_zone,
)

# Adding a channel works the same way in every space; the space comes from the prefix.
add_patterns = [
    path("add/", connect.add_channel, name="add_channel"),
    path("add/imap/", connect.add_imap_channel, name="add_imap_channel"),
    path("add/organisation/", organisation_add.add_organisation_channel, name="add_organisation_channel"),
]

urlpatterns = [
    path("", home.home, name="home"),
    path("webhooks/graph/notifications/", graph_webhook.graph_notifications, name="graph_notifications"),
    path("webhooks/graph/lifecycle/", graph_webhook.graph_lifecycle, name="graph_lifecycle"),
    path("push/gmail/", gmail_push.gmail_push, name="gmail_push"),
    # Prometheus asks for /metrics by default; no slash, so no redirect.
    path("metrics", metrics.metrics, name="metrics"),
    path("settings/", space_pages.settings_root, name="settings"),
    path("settings/company/channels/", space_pages.company_channels, name="company_channels"),
    path("settings/company/health/", health.company_health, name="company_health"),
    path("settings/company/health.csv", health.company_health_csv, name="company_health_csv"),
    path("settings/company/sign-in/", company_sign_in.company_sign_in_settings, name="company_sign_in"),
    path(
        "settings/company/organisation/<str:provider>/",
        organisation.organisation_connection,
        name="organisation_connection",
    ),
    path(
        "settings/company/organisation/<str:provider>/test/",
        organisation.organisation_connection_test,
        name="organisation_connection_test",
    ),
    path(
        "settings/company/organisation/<str:provider>/forget-previous-key/",
        organisation.organisation_connection_forget_previous,
        name="organisation_connection_forget_previous",
    ),
    path(
        "settings/company/organisation/<str:provider>/remove/",
        organisation.organisation_connection_delete,
        name="organisation_connection_remove",
    ),
    path(
        "settings/company/sign-in/<str:action>/",
        company_sign_in.company_sign_in_switch,
        name="company_sign_in_switch",
    ),
    path(
        "settings/workspaces/<int:workspace_id>/channels/",
        space_pages.workspace_channels,
        name="workspace_channels",
    ),
    path("settings/personal/channels/", space_pages.personal_channels, name="personal_channels"),
    path("settings/personal/notifications/", alert_preferences.alert_preferences, name="alert_preferences"),
    path("settings/personal/time-zone/", time_zone.personal_time_zone, name="personal_time_zone"),
    path("settings/personal/time-zone/detect/", time_zone.detect_time_zone, name="detect_time_zone"),
    path(
        "settings/company/channels/",
        include((add_patterns, "company"), namespace="company"),
        {"space_kind": SpaceKind.COMPANY},
    ),
    path(
        "settings/workspaces/<int:workspace_id>/channels/",
        include((add_patterns, "workspace"), namespace="workspace"),
        {"space_kind": SpaceKind.WORKSPACE},
    ),
    path(
        "settings/personal/channels/",
        include((add_patterns, "personal"), namespace="personal"),
        {"space_kind": SpaceKind.PERSONAL},
    ),
    path("settings/channels/<int:channel_id>/", channel_pages.overview, name="channel_overview"),
    path("settings/channels/<int:channel_id>/settings/", channel_pages.channel_settings, name="channel_settings"),
    path("settings/channels/<int:channel_id>/disconnect/", channel_actions.disconnect, name="channel_disconnect"),
    path("settings/channels/<int:channel_id>/remove/", channel_actions.remove, name="channel_remove"),
    path("settings/channels/<int:channel_id>/test/", channel_actions.test_connection, name="channel_test_connection"),
    path("settings/channels/<int:channel_id>/reauthorize/", reauthorize.reauthorize, name="channel_reauthorize"),
    path(
        "settings/channels/<int:channel_id>/reauthorize/password/",
        reauthorize.reauthorize_password,
        name="channel_reauthorize_password",
    ),
    path("settings/channels/<int:channel_id>/links/", reauth_links.send, name="reauth_link_send"),
    path(
        "settings/channels/<int:channel_id>/links/<int:link_id>/withdraw/",
        reauth_links.withdraw,
        name="reauth_link_withdraw",
    ),
    path("reauthorize/<str:token>/", reauth_links.landing, name="reauth_link"),
    path("settings/channels/<int:channel_id>/messages/", messages_tab.channel_messages, name="channel_messages"),
    path("settings/channels/<int:channel_id>/backfill/", backfill.backfill_progress, name="channel_backfill_progress"),
    path("settings/channels/<int:channel_id>/support/", support.contact_support, name="channel_contact_support"),
    path("oauth/callback/", oauth_callback.oauth_callback, name="oauth_callback"),
    path("notifications/popup/", alerts.alerts_popup, name="alerts_popup"),
    path("notifications/<int:notification_id>/dismiss/", alerts.dismiss_alert, name="dismiss_alert"),
    path("notifications/", notifications.notifications_list, name="notifications"),
    path("notifications/<int:notification_id>/", notifications.notification_open, name="notification_open"),
    path("notifications/read-all/", notifications.notifications_read_all, name="notifications_read_all"),
]
