"""Pending OAuth round trips, kept in the person's session.

Each `state` is random, bound to the person who started it and to what it is for
(reauthorizing channel N, or connecting a new channel in a space), expires, and
is popped when used so it can never be replayed. At most a few are kept, like
allauth's statekit, so an abandoned tab cannot grow the session without bound.

Popping it from the session is not enough against callbacks that race: each
request loads the session before any of them saves it. So a used state is also
recorded once, in the database, by a unique digest: only the first callback gets
past it, whichever process serves it.
"""

import enum
import hashlib
import secrets
import time
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.db import IntegrityError, transaction
from django.utils import timezone

from channels_app.models import UsedOAuthState
from channels_app.permissions import SpaceKind
from channels_app.providers import get_provider

SESSION_KEY = "oauth_states"
MAX_PENDING = 8


class Purpose(enum.StrEnum):
    """What an OAuth round trip is for. A StrEnum: the session keeps it as its plain value."""

    REAUTHORIZE = "reauthorize"  # a channel, by someone who may manage it
    CONNECT = "connect"  # a new channel in a space
    LINK = "link"  # a channel, through a reauthorization link (its holder may have no account with us)


@dataclass(frozen=True)
class PendingSpace:
    """Where a channel being connected goes, as the Add channel form said before the round trip."""

    kind: SpaceKind  # the space it was added from
    space_workspace_id: int | None  # that space's workspace (kind WORKSPACE)
    workspace_id: int | None  # the workspace of the new inbox; None: the person's own inbox
    inbox_name: str
    import_days: int | None  # None: the FIRST_IMPORT_DAYS setting

    @classmethod
    def from_session(cls, data: dict[str, Any]) -> "PendingSpace":
        return cls(**(data | {"kind": SpaceKind(data["kind"])}))


@dataclass
class PendingAuthorization:
    purpose: Purpose
    provider: str
    user_id: int | None  # None: someone without an account with us, through a link
    code_verifier: str
    redirect_uri: str
    channel_id: int | None = None
    link_id: int | None = None
    # For CONNECT: where the new channel goes.
    space: PendingSpace | None = None
    # For CONNECT: a shared mailbox to open with the signed-in delegate's token ("": the account itself).
    shared_address: str = ""
    created: float = field(default_factory=time.time)

    @classmethod
    def from_session(cls, data: dict[str, Any]) -> "PendingAuthorization":
        """Back from the session's JSON (`asdict`), the enums and the space as their types again."""
        space = PendingSpace.from_session(data["space"]) if data.get("space") else None
        return cls(**(data | {"purpose": Purpose(data["purpose"]), "space": space}))


class StateRejected(Exception):
    """The state is unknown (forged or already used), expired, or someone else's."""


def state_stash(session: SessionBase, pending: PendingAuthorization) -> str:
    states: dict[str, dict[str, Any]] = session.get(SESSION_KEY, {})
    if len(states) >= MAX_PENDING:
        for oldest in sorted(states, key=lambda key: states[key]["created"])[: len(states) - MAX_PENDING + 1]:
            del states[oldest]
    state = secrets.token_urlsafe(32)
    states[state] = asdict(pending)
    session[SESSION_KEY] = states
    return state


def authorization_start(
    session: SessionBase,
    *,
    purpose: Purpose,
    provider_kind: str,
    user_id: int | None,
    redirect_uri: str,
    login_hint: str,
    **fields: Any,
) -> str:
    """Start an OAuth round trip, for connecting, reauthorizing and reauthorization links alike: stash a
    PendingAuthorization (`fields`: channel_id, link_id, space, shared_address …) under a new state, and
    return the provider's sign-in URL with that state and PKCE."""
    pending = PendingAuthorization(
        purpose=purpose,
        provider=provider_kind,
        user_id=user_id,
        code_verifier=new_code_verifier(),
        redirect_uri=redirect_uri,
        **fields,
    )
    state = state_stash(session, pending)
    return get_provider(provider_kind).authorization_url(
        redirect_uri=redirect_uri, state=state, code_verifier=pending.code_verifier, login_hint=login_hint
    )


def state_purpose(session: SessionBase, state: str) -> Purpose | None:
    """What a pending state of this session is for, without using it up (None: not this session's)."""
    data = session.get(SESSION_KEY, {}).get(state) if state else None
    return Purpose(data["purpose"]) if data else None


def state_pop(session: SessionBase, state: str, *, user_id: int | None) -> PendingAuthorization:
    states: dict[str, dict[str, Any]] = session.get(SESSION_KEY, {})
    data = states.pop(state, None) if state else None
    session[SESSION_KEY] = states
    if data is None:
        raise StateRejected("This sign-in link is not valid or was already used. Please start again.")
    pending = PendingAuthorization.from_session(data)
    if pending.user_id != user_id:
        raise StateRejected("This sign-in was started by someone else. Please start again.")
    if time.time() - pending.created > settings.OAUTH_STATE_MAX_AGE_SECONDS:
        raise StateRejected("This sign-in took too long and expired. Please start again.")
    _record_use(state)
    return pending


def _record_use(state: str) -> None:
    """Refuse a state already used, atomically across requests and processes (a unique row)."""
    cutoff = timezone.now() - timedelta(seconds=settings.OAUTH_STATE_MAX_AGE_SECONDS)
    UsedOAuthState.objects.filter(used_at__lt=cutoff).delete()  # older ones could not be used anyway
    try:
        with transaction.atomic():
            UsedOAuthState.objects.create(digest=hashlib.sha256(state.encode()).hexdigest())
    except IntegrityError:
        raise StateRejected("This sign-in link is not valid or was already used. Please start again.") from None


def new_code_verifier() -> str:
    # RFC 7636: 43 to 128 characters from the unreserved set.
    return secrets.token_urlsafe(64)[:96]
