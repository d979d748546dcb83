from django.urls import include, path

from localprovider import views

urlpatterns = [
    # Listed before DOT's urls so that our consent page (always shown, account switchable) wins.
    path("o/authorize/", views.ConsentView.as_view(), name="authorize"),
    path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")),
    path("signin/", views.SignInView.as_view(), name="signin"),
    path("signout/", views.sign_out, name="signout"),
    path("userinfo", views.userinfo, name="userinfo"),
    path("healthz", views.healthz, name="healthz"),
]
