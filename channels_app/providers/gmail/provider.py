"""Gmail: Google's OAuth 2 with offline access, the account read from userinfo, IMAP with XOAUTH2."""

from channels_app.providers.oauth import OAuthProvider


class GmailProvider(OAuthProvider):
    kind = "gmail"
    label = "Gmail"
    settings_name = "gmail"
