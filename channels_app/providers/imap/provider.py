"""Any other mail server: IMAP with a username and password the person gives us."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from imapclient import IMAPClient

from channels_app.providers.base import Credentials, ImapEndpoint, MailProvider
from channels_app.providers.imap_session import imap_connection


class ImapPasswordProvider(MailProvider):
    kind = "imap"
    label = "IMAP (password)"
    uses_oauth = False

    def imap_endpoint(self, *, address: str, settings: dict[str, Any] | None = None) -> ImapEndpoint:
        values = settings or {}
        return ImapEndpoint(
            host=values["host"], port=int(values["port"]), ssl=bool(values["ssl"]), username=values["username"]
        )

    @contextmanager
    def open_mailbox(self, endpoint: ImapEndpoint, credentials: Credentials) -> Iterator[IMAPClient]:
        with imap_connection(endpoint, lambda c: c.login(endpoint.username, credentials.password)) as client:
            yield client
