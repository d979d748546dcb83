from django.urls import include, path

from channels_app.views import channel_pages, connect, home, oauth_callback, reauthorize, space_pages

# Adding a channel works the same way in every space; the space comes from the prefix.
add_patterns = [
    path("add/", connect.add_channel, name="add_channel"),
    path("add/imap/", connect.add_imap_channel, name="add_imap_channel"),
]

urlpatterns = [
    path("", home.home, name="home"),
    path("settings/", space_pages.settings_root, name="settings"),
    path("settings/company/channels/", space_pages.company_channels, name="company_channels"),
    path(
        "settings/workspaces/<int:workspace_id>/channels/",
        space_pages.workspace_channels,
        name="workspace_channels",
    ),
    path("settings/personal/channels/", space_pages.personal_channels, name="personal_channels"),
    path(
        "settings/company/channels/", include((add_patterns, "company"), namespace="company"), {"space_kind": "company"}
    ),
    path(
        "settings/workspaces/<int:workspace_id>/channels/",
        include((add_patterns, "workspace"), namespace="workspace"),
        {"space_kind": "workspace"},
    ),
    path(
        "settings/personal/channels/",
        include((add_patterns, "personal"), namespace="personal"),
        {"space_kind": "personal"},
    ),
    path("settings/channels/<int:channel_id>/", channel_pages.overview, name="channel_overview"),
    path("settings/channels/<int:channel_id>/settings/", channel_pages.channel_settings, name="channel_settings"),
    path("settings/channels/<int:channel_id>/disconnect/", channel_pages.disconnect, name="channel_disconnect"),
    path("settings/channels/<int:channel_id>/reauthorize/", reauthorize.reauthorize, name="channel_reauthorize"),
    path(
        "settings/channels/<int:channel_id>/reauthorize/password/",
        reauthorize.reauthorize_password,
        name="channel_reauthorize_password",
    ),
    path("oauth/callback/", oauth_callback.oauth_callback, name="oauth_callback"),
]
