from django.contrib import admin
from django.urls import include, path

from channels_app.views import account

urlpatterns = [
    path("admin/", admin.site.urls),
    # Before allauth's own: its email management is off (see the view).
    path("accounts/email/", account.email_address, name="account_email"),
    path("accounts/", include("allauth.urls")),
    path("", include("channels_app.urls")),
]
