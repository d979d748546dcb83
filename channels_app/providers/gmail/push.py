"""Reading a Pub/Sub push of a Gmail notification, and proving it came from Google.

The push (https://cloud.google.com/pubsub/docs/push#receive_push) is a JSON envelope
{"message": {"data": base64, "messageId", "publishTime", "attributes"}, "subscription"}; Gmail's data
is {"emailAddress", "historyId"} (https://developers.google.com/workspace/gmail/api/guides/push#receiving_notifications).
An authenticated push subscription sends `Authorization: Bearer <OIDC JWT>` signed by Google
(https://cloud.google.com/pubsub/docs/authenticate-push-subscriptions): we check its signature against
Google's keys, `aud` (the audience configured on the subscription), `iss` (accounts.google.com, with or
without https://), `exp`, and that `email` is the subscription's service account with `email_verified`.
"""

import base64
import binascii
import enum
import ipaddress
import json
from dataclasses import dataclass
from typing import Any

from channels_app.providers.base import ConfigurationFailure, PassingFailure
from channels_app.providers.id_token import verified_claims


class PushVerify(enum.StrEnum):
    """How a push proves where it comes from (setting GMAIL_PUSH_VERIFY)."""

    # Production: Google's signed OIDC token, always.
    OIDC = "oidc"
    # The Pub/Sub emulator sends no token at all: accepted from loopback only, and only with DEBUG or in
    # tests (config/settings.py refuses it otherwise).
    EMULATOR = "emulator"


class PushRejected(Exception):
    """Not a push we act on. `retry` marks a failure of ours (Google's keys unreachable): Pub/Sub should retry."""

    def __init__(self, why: str, *, retry: bool = False) -> None:
        super().__init__(why)
        self.why = why
        self.retry = retry


@dataclass(frozen=True)
class PushNotice:
    address: str
    history_id: int
    message_id: str


def verify_sender(values: dict[str, Any], *, authorization: str, remote_addr: str, audience: str) -> None:
    """Raises PushRejected unless the push comes from whom GMAIL_PUSH_VERIFY says it must."""
    if PushVerify(values["PUSH_VERIFY"]) is PushVerify.EMULATOR:
        try:
            loopback = ipaddress.ip_address(remote_addr).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise PushRejected("emulator pushes are accepted from loopback only")
        return
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise PushRejected("no bearer token")
    issuer = str(values["PUSH_ISSUER"])
    try:
        claims = verified_claims(
            token.strip(),
            jwks_url=str(values["PUSH_JWKS_URL"]),
            client_id=audience,
            issuer_ok=lambda iss, _claims: iss in (issuer, issuer.removeprefix("https://")),
        )
    except ConfigurationFailure as failure:
        raise PushRejected(failure.code) from None
    except PassingFailure:
        raise PushRejected("signing keys unreachable", retry=True) from None
    if claims.get("email") != values["PUSH_SERVICE_ACCOUNT"] or claims.get("email_verified") is not True:
        raise PushRejected("id_token email")


def read_notice(body: bytes) -> PushNotice:
    """The Gmail notification inside a push envelope; PushRejected when it is not one."""
    try:
        envelope = json.loads(body)
        message = envelope["message"]
        data = json.loads(base64.b64decode(message["data"], validate=True))
        address, history = str(data["emailAddress"]).strip().lower(), str(data["historyId"])
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise PushRejected("not a Gmail push envelope") from None
    if "@" not in address or not history.isdigit():
        raise PushRejected("not a Gmail notification")
    return PushNotice(address=address, history_id=int(history), message_id=str(message.get("messageId", "")))
