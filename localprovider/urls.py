from django.urls import include, path
from oauth2_provider.views import ConnectDiscoveryInfoView

from localprovider import control_endpoint, token_views, views

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
    path("signin/", views.SignInView.as_view(), name="signin"),
    path("signout/", views.sign_out, name="signout"),
    path("userinfo", views.userinfo, name="userinfo"),
    path("healthz", views.healthz, name="healthz"),
    path("_control/<str:action>", control_endpoint.control_action, name="control"),
]
