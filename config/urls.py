from django.contrib import admin
from django.urls import include, path

from channels_app.views import account, company_sign_in

urlpatterns = [
    path("admin/", admin.site.urls),
    # Before allauth's own: its email management is off (see the view).
    path("accounts/email/", account.email_address, name="account_email"),
    # Sends people of a domain with company sign-in to their identity provider (see the view).
    path("accounts/login/", company_sign_in.sign_in, name="account_login"),
    path("accounts/", include("allauth.urls")),
    path("", include("channels_app.urls")),
]
