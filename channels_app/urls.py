from django.urls import path

from channels_app.views import channel_pages, home, space_pages

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
    path("settings/channels/<int:channel_id>/", channel_pages.overview, name="channel_overview"),
    path("settings/channels/<int:channel_id>/settings/", channel_pages.channel_settings, name="channel_settings"),
    path("settings/channels/<int:channel_id>/disconnect/", channel_pages.disconnect, name="channel_disconnect"),
]
