from allauth.account.adapter import DefaultAccountAdapter
from django.http import HttpRequest


class NoSignupAccountAdapter(DefaultAccountAdapter):
    """People are added to a company by its admins, so public sign-up is closed."""

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return False
