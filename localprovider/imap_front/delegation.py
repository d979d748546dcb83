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
from localprovider.personas import MailboxState

logger = logging.getLogger("localprovider.imap_front")

TokenOwner = Callable[[str], str | None]
"""An access token -> the account it belongs to while it grants mail; None for a dead or mail-less token."""

# Loopback only, never through an http_proxy of the environment: the request carries a client secret.
_loopback = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass(frozen=True)
class Delegation:
    """Whose token opens which shared mailbox, and how the front logs in upstream for a delegate."""

    token_owner: TokenOwner
    master_secret: str

    def delegate_of(self, state: MailboxState, mailbox: str, token: str) -> str | None:
        """The delegate whose `token` this is, if it may open `mailbox`; None otherwise (the token's own
        mailbox, a stranger, a dead token), in which case the login goes upstream as it came."""
        if not state.delegates:
            return None
        owner = self.token_owner(token)
        if owner is None or owner.lower() == mailbox.lower():
            return None
        return owner.lower() if owner.lower() in state.delegates else None

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
    does: the token must be active and carry `imap` (the server adds it for every mail scope)."""
    basic = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()

    def owner(token: str) -> str | None:
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
        if "imap" not in str(answer.get("scope", "")).split():
            return None
        username = answer.get("username")
        return username if isinstance(username, str) and username else None

    return owner
