"""The Gmail API calls behind push notifications: users.watch, users.stop and users.history.list.

Sources: https://developers.google.com/workspace/gmail/api/guides/push (watch, renew daily, stop),
https://developers.google.com/workspace/gmail/api/reference/rest/v1/users/watch ({topicName, labelIds,
labelFilterBehavior} → {historyId, expiration in epoch milliseconds}),
https://developers.google.com/workspace/gmail/api/reference/rest/v1/users.history/list and
https://developers.google.com/workspace/gmail/api/guides/sync#partial_synchronization (a startHistoryId
too old answers 404: a full sync follows). Every failure comes out classified (errors.api_error).
"""

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import requests
from django.conf import settings

from channels_app.providers.base import PassingFailure, unrecognised
from channels_app.providers.gmail.errors import api_error

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class WatchAnswer:
    history_id: int
    expires_at: datetime


@dataclass(frozen=True)
class HistoryAnswer:
    """The mailbox's current history id, and how many messages were added since the one we asked from."""

    history_id: int
    messages_added: int


class HistoryTooOld(Exception):
    """Gmail no longer holds the history since our id (404): only a full sync closes the gap."""


def _call(
    method: str,
    url: str,
    access_token: str,
    *,
    json: dict[str, Any] | None = None,
    params: dict[str, Any] | None = None,
) -> requests.Response:
    try:
        return requests.request(
            method,
            url,
            json=json,
            params=params,
            headers={"Authorization": f"Bearer {access_token}"},
            timeout=settings.OAUTH_HTTP_TIMEOUT_SECONDS,
        )
    except requests.RequestException:
        raise PassingFailure("The Gmail API could not be reached.", code="network") from None


def _body(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text[:2000]


def _raise_for(response: requests.Response) -> None:
    if response.status_code < 300:
        return
    retry = response.headers.get("Retry-After", "")
    failure = api_error(response.status_code, _body(response), int(retry) if retry.strip().isdigit() else None)
    logger.info("Gmail API %s: %s %s", response.request.path_url.split("?")[0], failure.kind, failure.code)
    raise failure


def _history_id(value: object) -> int:
    # Gmail sends history ids as decimal strings (uint64).
    if not str(value).isdigit():
        raise unrecognised("unreadable historyId")
    return int(str(value))


def watch(api_url: str, access_token: str, *, topic: str, label_ids: list[str]) -> WatchAnswer:
    body: dict[str, Any] = {"topicName": topic}
    if label_ids:
        body.update(labelIds=label_ids, labelFilterBehavior="INCLUDE")
    response = _call("POST", f"{api_url}/gmail/v1/users/me/watch", access_token, json=body)
    _raise_for(response)
    answer = _body(response)
    if not isinstance(answer, dict) or not str(answer.get("expiration", "")).isdigit():
        raise unrecognised("unreadable watch answer")
    expires = datetime.fromtimestamp(int(answer["expiration"]) / 1000, tz=UTC)
    return WatchAnswer(history_id=_history_id(answer.get("historyId")), expires_at=expires)


def stop(api_url: str, access_token: str) -> None:
    _raise_for(_call("POST", f"{api_url}/gmail/v1/users/me/stop", access_token))


def history_since(api_url: str, access_token: str, start_history_id: int) -> HistoryAnswer:
    """Messages added since `start_history_id`, page by page; raises HistoryTooOld on Gmail's 404."""
    params: dict[str, Any] = {"startHistoryId": str(start_history_id), "historyTypes": "messageAdded"}
    added = 0
    while True:
        response = _call("GET", f"{api_url}/gmail/v1/users/me/history", access_token, params=params)
        if response.status_code == 404:
            raise HistoryTooOld
        _raise_for(response)
        answer = _body(response)
        if not isinstance(answer, dict):
            raise unrecognised("unreadable history answer")
        for record in answer.get("history") or []:
            added += len(record.get("messagesAdded") or []) if isinstance(record, dict) else 0
        token = answer.get("nextPageToken")
        if not token:
            return HistoryAnswer(history_id=_history_id(answer.get("historyId")), messages_added=added)
        params["pageToken"] = token
