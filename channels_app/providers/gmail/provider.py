"""Gmail: Google's OAuth 2 with offline access, the account from the verified ID token, IMAP with XOAUTH2."""

from typing import Any, ClassVar

from channels_app.providers.base import ConfigurationFailure, Credentials, ProviderFailure
from channels_app.providers.gmail import api, errors
from channels_app.providers.oauth import OAuthProvider, TokenAnswer


class GmailProvider(OAuthProvider):
    kind = "gmail"
    label = "Gmail"
    position = 10
    connects = "A Gmail or Google Workspace mailbox: you sign in with Google."
    mail_scope = "https://mail.google.com/"
    sync_all_mail_only = True
    # Google keeps one grant per person and app, and revoking any of its tokens ends all of them:
    # https://developers.google.com/identity/gsi/web/guides/revoke ("Google uses an OAuth 2.0 grant to
    # manage user consent"), and tanaikech.github.io/2018/05/23 (revoking one token removed the app).
    revocation_ends_grant = True
    # Google answers with the full names of the OpenID scopes:
    # https://developers.google.com/identity/protocols/oauth2/scopes#openid-connect
    scope_aliases = {
        "https://www.googleapis.com/auth/userinfo.email": "email",
        "https://www.googleapis.com/auth/userinfo.profile": "profile",
    }
    defaults: ClassVar[dict[str, Any]] = {
        "CLIENT_ID": "",
        "CLIENT_SECRET": "",
        "AUTHORIZE_URL": "https://accounts.google.com/o/oauth2/v2/auth",
        "TOKEN_URL": "https://oauth2.googleapis.com/token",
        "USERINFO_URL": "https://openidconnect.googleapis.com/v1/userinfo",
        "REVOKE_URL": "https://oauth2.googleapis.com/revoke",
        "JWKS_URL": "https://www.googleapis.com/oauth2/v3/certs",
        # https://developers.google.com/identity/openid-connect/openid-connect#validatinganidtoken
        "ISSUER": "https://accounts.google.com",
        "SCOPES": "https://mail.google.com/ openid email",
        "IMAP_HOST": "imap.gmail.com",
        "IMAP_PORT": 993,
        "IMAP_SSL": True,
        # offline access returns a refresh token; consent makes Google issue a new one on every
        # reauthorization; select_account shows the account chooser, so another account can be picked.
        "AUTHORIZE_PARAMS": {"access_type": "offline", "prompt": "select_account consent"},
        # Google drops refresh tokens unused for six months: https://developers.google.com/identity/protocols/oauth2#expiration
        "TOKEN_DISUSE_DAYS": 180,
        # A Gmail watch lapses after 7 days; Google asks for users.watch once a day:
        # https://developers.google.com/workspace/gmail/api/guides/push#renewing_mailbox_watch
        "RENEWAL_AFTER_HOURS": 24,
        "RATE_LIMIT": 20,
        # An app in Testing mode gets refresh tokens that expire after 7 days (same page as above).
        "TESTING_MODE": False,
        # Gmail allows about 2.5 GB of IMAP downloads a day: https://support.google.com/a/answer/1071518
        "DAILY_DOWNLOAD_BYTES": 2_000_000_000,
        # Push notifications (api.py, push.py). Off until staff name the Pub/Sub topic Gmail publishes to,
        # `projects/PROJECT/topics/NAME`, on which gmail-api-push@system.gserviceaccount.com may publish:
        # https://developers.google.com/workspace/gmail/api/guides/push#grant_publish_rights_on_your_topic
        "API_URL": "https://gmail.googleapis.com",
        "PUBSUB_TOPIC": "",
        # Every change of the mailbox is announced (no label filter): we import All Mail, and a message a
        # filter keeps out of the inbox must arrive as fast. history.list then asks for messageAdded only.
        "WATCH_LABEL_IDS": "",
        # The push subscription's authentication: its audience (empty: SITE_URL + /push/gmail/, Pub/Sub's own
        # default being the endpoint URL) and service account; tokens signed with Google's keys.
        "PUSH_VERIFY": "oidc",
        "PUSH_AUDIENCE": "",
        "PUSH_SERVICE_ACCOUNT": "",
        "PUSH_JWKS_URL": "https://www.googleapis.com/oauth2/v3/certs",
        "PUSH_ISSUER": "https://accounts.google.com",
    }

    # --- push notifications ----------------------------------------------------------------------

    def push_configured(self) -> bool:
        return bool(self.values.get("PUBSUB_TOPIC"))

    def watch(self, credentials: Credentials) -> api.WatchAnswer:
        labels = str(self.values.get("WATCH_LABEL_IDS") or "").replace(",", " ").split()
        return api.watch(
            self.values["API_URL"], credentials.access_token, topic=self.values["PUBSUB_TOPIC"], label_ids=labels
        )

    def stop_watch(self, credentials: Credentials) -> None:
        api.stop(self.values["API_URL"], credentials.access_token)

    def history_since(self, credentials: Credentials, start_history_id: int) -> api.HistoryAnswer:
        return api.history_since(self.values["API_URL"], credentials.access_token, start_history_id)

    def token_error(self, answer: TokenAnswer, credentials: Credentials | None) -> ProviderFailure:
        return errors.token_error(answer, credentials, testing_mode=bool(self.values["TESTING_MODE"]))

    def authorize_error(self, query: dict[str, str]) -> ProviderFailure | None:
        return errors.authorize_error(query) or super().authorize_error(query)

    def classify_imap_answer(self, text: str, *, during_login: bool) -> ProviderFailure | None:
        return errors.imap_answer(text)

    def revoke_client_auth(self) -> dict[str, str]:
        # Google's revocation endpoint takes the token alone:
        # https://developers.google.com/identity/protocols/oauth2/web-server#tokenrevoke
        return {}

    def account_address(self, credentials: Credentials) -> str:
        """The verified address from the ID token; userinfo when the answer carried none."""
        if not credentials.id_token:
            return self.address_from_userinfo(credentials)
        issuer = str(self.values["ISSUER"])
        # Google issues both forms: https://developers.google.com/identity/openid-connect/openid-connect#validatinganidtoken
        claims = self.id_token_claims(
            credentials, lambda iss, _claims: iss in (issuer, issuer.removeprefix("https://"))
        )
        if claims.get("email_verified") is not True:
            raise ConfigurationFailure("Google says this account's address is not verified.", code="email_verified")
        return self.checked_address(claims.get("email"))


PROVIDER = GmailProvider
