"""Ending a person's grant: every token of a mailbox, for one client or all of them."""

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from oauth2_provider.models import AccessToken, Application, Grant, RefreshToken


@transaction.atomic
def revoke_grant(user: AbstractBaseUser, application: Application | None = None) -> tuple[int, int]:
    """Revokes the refresh and access tokens and pending codes of `user` (for `application` only, if
    given), as removing an app's access in a Google account does. Returns (refresh, other access) counts."""
    scope = {"user": user} if application is None else {"user": user, "application": application}
    refresh_tokens = list(RefreshToken.objects.filter(revoked__isnull=True, **scope))
    for refresh_token in refresh_tokens:
        refresh_token.revoke()  # also deletes its access token
    access_count, _ = AccessToken.objects.filter(**scope).delete()
    Grant.objects.filter(**scope).delete()
    return len(refresh_tokens), access_count
