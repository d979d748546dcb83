"""Shared mailboxes opened by their delegates, the way Exchange Online does it.

Exchange lets a delegate with Full Access open a shared mailbox over IMAP with the delegate's own token,
naming the shared mailbox as the XOAUTH2 user: "In case of shared mailbox access using OAuth, application
needs to obtain the access token on behalf of a user but replace the userName field in the SASL XOAUTH2
encoded string with the email address of the shared mailbox."
https://learn.microsoft.com/en-us/exchange/client-developer/legacy-protocols/how-to-authenticate-an-imap-pop-smtp-application-by-using-oauth
(section "SASL XOAUTH2 authentication for shared mailboxes in Office 365").

Dovecot's oauth2 passdb accepts a token only for its owner's own mailbox, so the front decides instead:
it asks the OAuth server whose token it is (introspection, as Dovecot does) and, when the owner is one of
the mailbox's delegates (`MailboxState.delegates`, set by `control.set_delegate`), logs in upstream as
Dovecot's master user for that mailbox. Anyone else's token goes to Dovecot as it came, which refuses it,
and the persona words the refusal (Exchange: `NO AUTHENTICATE failed.`).

Applications open mailboxes the same way, with their own client-credentials token and the mailbox named as the
XOAUTH2 user (same page, section "Use client credentials grant flow to authenticate SMTP, IMAP and POP
connections"): Exchange lets them in when the token carries the role IMAP.AccessAsApp, Exchange knows the app's
service principal, and the mailbox gave that service principal FullAccess (`MailboxState.applications`,
organisation.app_may_open). Shared mailboxes with no delegate at all are opened this way too.
"""

import base64
import json
import logging
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

from localprovider.imap_front.wire import Command
from localprovider.instance import IMAP_MASTER_SEPARATOR, IMAP_MASTER_USER
from localprovider.organisation import IMAP_APP_ROLE
from localprovider.personas import MailboxState
from localprovider.scopes import DOVECOT_SCOPE

logger = logging.getLogger("localprovider.imap_front")


@dataclass(frozen=True)
class Bearer:
    """Whose live access token this is, as introspection tells it."""

    # The account it was issued for; for a client's own token (no user), the client id (token_views.py).
    subject: str
    client_id: str | None = None
    scopes: tuple[str, ...] = ()

    @property
    def is_application(self) -> bool:
        return self.client_id is not None and self.subject == self.client_id


TokenOwner = Callable[[str], Bearer | None]
"""An access token -> whose it is while it lives; None for a dead or unknown token."""

AppAccess = Callable[[str, tuple[str, ...], str], bool]
"""(mailbox, the app ids it gave FullAccess, app id) -> whether Exchange lets that app open it."""


def no_app_access(mailbox: str, applications: tuple[str, ...], app_id: str) -> bool:
    return False


# Loopback only, never through an http_proxy of the environment: the request carries a client secret.
_loopback = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass(frozen=True)
class Delegation:
    """Whose token opens which shared mailbox, and how the front logs in upstream for a delegate."""

    token_owner: TokenOwner
    master_secret: str
    app_access: AppAccess = no_app_access

    def opener_of(self, state: MailboxState, mailbox: str, token: str) -> str | None:
        """Who opens `mailbox` with `token` through the master login ("its delegate <address>", "the application
        <app id>"); None otherwise (the token's own mailbox, a stranger, an app without access, a dead token),
        in which case the login goes upstream as it came."""
        if not state.delegates and not state.applications:
            return None
        bearer = self.token_owner(token)
        if bearer is None:
            return None
        if bearer.is_application:
            may_open = (
                state.persona == "microsoft"
                and IMAP_APP_ROLE in bearer.scopes
                and self.app_access(mailbox, state.applications, bearer.subject)
            )
            return f"the application {bearer.subject}" if may_open else None
        owner = bearer.subject.lower()
        if DOVECOT_SCOPE not in bearer.scopes or owner == mailbox.lower():
            return None
        return f"its delegate {owner}" if owner in state.delegates else None

    def master_login(self, tag: bytes, mailbox: str) -> Command:
        """LOGIN as Dovecot's master user for `mailbox` (auth_master_user_separator in dovecot.conf)."""
        user = f"{mailbox}{IMAP_MASTER_SEPARATOR}{IMAP_MASTER_USER}"
        return Command((tag + b" LOGIN " + _quoted(user) + b" " + _quoted(self.master_secret),))


def _quoted(text: str) -> bytes:
    if any(c in text for c in '"\\\r\n'):
        raise ValueError("cannot quote this for IMAP")
    return b'"' + text.encode() + b'"'


def introspecting(url: str, client_id: str, client_secret: str, timeout: float = 5.0) -> TokenOwner:
    """A TokenOwner asking the OAuth server's introspection endpoint (RFC 7662), as Dovecot's oauth2 passdb
    does (the server says `imap` for every mail scope)."""
    basic = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()

    def owner(token: str) -> Bearer | None:
        request = urllib.request.Request(  # noqa: S310 - the instance's own loopback URL
            url,
            data=urllib.parse.urlencode({"token": token}).encode(),
            headers={"Authorization": f"Basic {basic}", "Content-Type": "application/x-www-form-urlencoded"},
            method="POST",
        )
        try:
            with _loopback.open(request, timeout=timeout) as response:
                answer = json.loads(response.read())
        except (OSError, ValueError) as e:
            logger.warning("Token introspection failed (%s); the login goes to Dovecot as it came", e)
            return None
        if not isinstance(answer, dict) or answer.get("active") is not True:
            return None
        username, issued_to = answer.get("username"), answer.get("client_id")
        if not isinstance(username, str) or not username:
            return None
        scopes = tuple(str(answer.get("scope", "")).split())
        return Bearer(subject=username, client_id=issued_to if isinstance(issued_to, str) else None, scopes=scopes)

    return owner
