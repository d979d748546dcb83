from django.urls import include, path

from localprovider import control_endpoint, gmail_api, token_views, views

urlpatterns = [
    # Listed before DOT's urls so that ours win: the consent page (always shown, account switchable,
    # Google's checkboxes), the token endpoint (forced answers) and introspection (Dovecot's scope).
    path("o/authorize/", views.ConsentView.as_view(), name="authorize"),
    path("o/token/", token_views.TokenView.as_view(), name="token"),
    path("o/introspect/", token_views.IntrospectTokenView.as_view(), name="introspect"),
    path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")),
    path("revoke", token_views.google_revoke, name="revoke"),
    # Gmail's push API, for google-persona mailboxes (gmail_api.py).
    path("gmail/v1/users/me/watch", gmail_api.watch, name="gmail_watch"),
    path("gmail/v1/users/me/stop", gmail_api.stop, name="gmail_stop"),
    path("gmail/v1/users/me/history", gmail_api.history, name="gmail_history"),
    path("signin/", views.SignInView.as_view(), name="signin"),
    path("signout/", views.sign_out, name="signout"),
    path("userinfo", views.userinfo, name="userinfo"),
    path("healthz", views.healthz, name="healthz"),
    path("_control/<str:action>", control_endpoint.control_action, name="control"),
]
