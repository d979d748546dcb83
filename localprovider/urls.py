from django.urls import include, path
from oauth2_provider.views import ConnectDiscoveryInfoView

from localprovider import control_endpoint, gmail_api, graph_views, organisation_views, token_views, views

urlpatterns = [
    # Listed before DOT's urls so that ours win: the consent page (always shown, account switchable,
    # Google's checkboxes), the token endpoint (forced answers) and introspection (Dovecot's scope).
    path("o/authorize/", views.ConsentView.as_view(), name="authorize"),
    path("o/token/", token_views.TokenView.as_view(), name="token"),
    path("o/introspect/", token_views.IntrospectTokenView.as_view(), name="introspect"),
    path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")),
    # Also where OpenID Connect Discovery 1.0 (section 4) puts it: the issuer (the base URL) plus
    # /.well-known/openid-configuration, as clients that take only an issuer (allauth's) look for it.
    path(".well-known/openid-configuration", ConnectDiscoveryInfoView.as_view(), name="openid-configuration"),
    path("revoke", token_views.google_revoke, name="revoke"),
    # Gmail's push API, for google-persona mailboxes (gmail_api.py).
    path("gmail/v1/users/me/watch", gmail_api.watch, name="gmail_watch"),
    path("gmail/v1/users/me/stop", gmail_api.stop, name="gmail_stop"),
    path("gmail/v1/users/me/history", gmail_api.history, name="gmail_history"),
    path("signin/", views.SignInView.as_view(), name="signin"),
    path("signout/", views.sign_out, name="signout"),
    path("userinfo", views.userinfo, name="userinfo"),
    path("healthz", views.healthz, name="healthz"),
    # Microsoft Graph's subscriptions (the microsoft persona's change notifications): graph_views.py.
    path("graph/v1.0/subscriptions", graph_views.subscriptions, name="graph_subscriptions"),
    path("graph/v1.0/subscriptions/<str:subscription_id>", graph_views.subscription, name="graph_subscription"),
    path(
        "graph/v1.0/subscriptions/<str:subscription_id>/reauthorize",
        graph_views.reauthorize,
        name="graph_reauthorize",
    ),
    # Microsoft's tenant token endpoint, for the client-credentials grant of app registrations (application
    # access to IMAP): organisation_views.py. Any first segment names a tenant, by id or domain.
    path("<str:tenant>/oauth2/v2.0/token", organisation_views.entra_token, name="entra_token"),
    path("_control/<str:action>", control_endpoint.control_action, name="control"),
]
