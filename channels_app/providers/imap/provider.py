"""Any other mail server: IMAP with a username and password the person gives us."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

from imapclient import IMAPClient

from channels_app.providers.base import Credentials, ImapEndpoint, ImapSecurity, MailProvider
from channels_app.providers.imap_session import imap_connection, password_login


class ImapPasswordProvider(MailProvider):
    kind = "imap"
    label = "IMAP"
    position = 30
    connects = "Any other mail server that offers IMAP: with its server name, your user name and password."
    uses_oauth = False
    defaults: ClassVar[dict[str, Any]] = {"RENEWAL_AFTER_HOURS": 24, "RATE_LIMIT": 20}

    def imap_endpoint(self, *, address: str, settings: dict[str, Any] | None = None) -> ImapEndpoint:
        values = settings or {}
        return ImapEndpoint(
            host=values["host"],
            port=int(values["port"]),
            security=ImapSecurity(values["security"]),
            username=values["username"],
        )

    @contextmanager
    def open_mailbox(self, endpoint: ImapEndpoint, credentials: Credentials) -> Iterator[IMAPClient]:
        login = lambda client: password_login(client, endpoint.username, credentials.password)  # noqa: E731
        with imap_connection(endpoint, login) as client:
            yield client


PROVIDER = ImapPasswordProvider
