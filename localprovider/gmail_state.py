"""Gmail's side of a google-persona mailbox: its history ids and its watch. Plain data, no Django.

One JSON file per mailbox under `<instance dir>/gmail/`, read and written under a lock by the OAuth
server (users.watch, users.stop, users.history.list: gmail_api.py) and by `control` (a delivery adds a
history record and, while a watch lasts, is announced: pubsub.py). Gmail's history ids only grow; a
start id older than the history Gmail keeps answers 404 (`forget_history` makes that happen now).
"""

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

# A watch lapses after 7 days: https://developers.google.com/workspace/gmail/api/guides/push#renewing_mailbox_watch
WATCH_LIFETIME_MS = 7 * 24 * 3600 * 1000
FIRST_HISTORY_ID = 100_000  # Gmail's ids are large decimal numbers; any start will do
HISTORY_KEPT = 10_000  # records kept per mailbox; older starts answer 404 as at Gmail


@dataclass
class GmailState:
    history_id: int = FIRST_HISTORY_ID
    # The oldest start id still answered; below it history.list says 404.
    oldest_history_id: int = FIRST_HISTORY_ID
    # [history id, messages added] per delivery.
    added: list[list[int]] = field(default_factory=list)
    # {"topic", "label_ids", "expiration_ms"} while watched.
    watch: dict[str, Any] | None = None


def _path(instance_dir: Path, email: str) -> Path:
    email = email.strip().lower()
    if "/" in email or email.startswith("."):
        raise ValueError(f"not a usable mailbox address: {email!r}")
    return instance_dir / "gmail" / f"{email}.json"


@contextmanager
def changing(instance_dir: Path, email: str) -> Iterator[GmailState]:
    """The mailbox's state, written back atomically when the block ends; one writer at a time."""
    path = _path(instance_dir, email)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        state = read(instance_dir, email)
        yield state
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(state)))
        os.replace(tmp, path)


def read(instance_dir: Path, email: str) -> GmailState:
    try:
        data = json.loads(_path(instance_dir, email).read_text())
    except (FileNotFoundError, ValueError):
        return GmailState()
    return GmailState(**{key: data[key] for key in asdict(GmailState()) if key in data})


def live_watch(state: GmailState, now_ms: int) -> dict[str, Any] | None:
    watch = state.watch
    return watch if watch is not None and int(watch["expiration_ms"]) > now_ms else None


def set_watch(instance_dir: Path, email: str, *, topic: str, label_ids: list[str], now_ms: int) -> tuple[int, int]:
    """users.watch: (the mailbox's current history id, the watch's expiration in epoch milliseconds)."""
    with changing(instance_dir, email) as state:
        state.watch = {"topic": topic, "label_ids": label_ids, "expiration_ms": now_ms + WATCH_LIFETIME_MS}
        return state.history_id, int(state.watch["expiration_ms"])


def stop_watch(instance_dir: Path, email: str) -> None:
    with changing(instance_dir, email) as state:
        state.watch = None


def record_delivery(instance_dir: Path, email: str, count: int, *, now_ms: int) -> tuple[int, dict[str, Any] | None]:
    """A delivery of `count` messages: its history id, and the watch that announces it (None: no live watch)."""
    with changing(instance_dir, email) as state:
        state.history_id += 1
        state.added.append([state.history_id, count])
        if len(state.added) > HISTORY_KEPT:
            state.added = state.added[-HISTORY_KEPT:]
            state.oldest_history_id = state.added[0][0] - 1
        return state.history_id, live_watch(state, now_ms)


def forget_history(instance_dir: Path, email: str) -> int:
    """Gmail no longer holds the history before now: every start id we have handed out answers 404."""
    with changing(instance_dir, email) as state:
        state.history_id += 1
        state.oldest_history_id = state.history_id
        state.added = []
        return state.history_id


def history_since(instance_dir: Path, email: str, start: int) -> tuple[int, list[list[int]]] | None:
    """(current history id, [[id, added]] after `start`), or None when `start` is older than what is kept."""
    state = read(instance_dir, email)
    if start < state.oldest_history_id:
        return None
    return state.history_id, [record for record in state.added if record[0] > start]
