from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.sessions.backends.signed_cookies import SessionStore

from channels_app.models import UsedOAuthState
from channels_app.permissions import SpaceKind
from channels_app.services.oauth_state import (
    MAX_PENDING,
    PendingAuthorization,
    PendingSpace,
    Purpose,
    StateRejected,
    authorization_start,
    new_code_verifier,
    state_pop,
    state_purpose,
    state_stash,
)

pytestmark = pytest.mark.django_db


def _pending(user_id: int | None = 1, **fields) -> PendingAuthorization:
    fields.setdefault("purpose", Purpose.REAUTHORIZE)
    return PendingAuthorization(
        provider="local", user_id=user_id, code_verifier="v", redirect_uri="http://x/", **fields
    )


def test_state_is_single_use():
    session = SessionStore()
    state = state_stash(session, _pending(channel_id=3))
    assert state_pop(session, state, user_id=1).channel_id == 3
    with pytest.raises(StateRejected):
        state_pop(session, state, user_id=1)


def test_forged_state_is_rejected():
    session = SessionStore()
    state_stash(session, _pending())
    with pytest.raises(StateRejected):
        state_pop(session, "forged", user_id=1)


def test_someone_elses_state_is_rejected():
    session = SessionStore()
    state = state_stash(session, _pending(user_id=1))
    with pytest.raises(StateRejected, match="someone else"):
        state_pop(session, state, user_id=2)


def test_expired_state_is_rejected(settings):
    session = SessionStore()
    state = state_stash(session, _pending(created=0.0))
    with pytest.raises(StateRejected, match="expired"):
        state_pop(session, state, user_id=1)


def test_pending_states_are_capped():
    session = SessionStore()
    states = [state_stash(session, _pending(created=float(i + 1_000_000_000_0))) for i in range(MAX_PENDING + 3)]
    assert len(session["oauth_states"]) == MAX_PENDING
    with pytest.raises(StateRejected):
        state_pop(session, states[0], user_id=1)


def test_code_verifier_has_rfc_7636_length():
    assert 43 <= len(new_code_verifier()) <= 128


def test_two_requests_racing_with_one_state_get_past_it_once():
    # Each request loads the session before either saves it: both find the state in their own copy.
    session = SessionStore()
    state = state_stash(session, _pending(channel_id=3))
    session.save()
    first, second = SessionStore(session.session_key), SessionStore(session.session_key)
    first.load(), second.load()
    first._session_cache, second._session_cache = dict(session._session), dict(session._session)
    assert state_pop(first, state, user_id=1).channel_id == 3
    with pytest.raises(StateRejected, match="already used"):
        state_pop(second, state, user_id=1)
    assert UsedOAuthState.objects.count() == 1


def test_a_start_stashes_the_pending_authorization_under_the_state_the_sign_in_url_carries():
    session = SessionStore()
    url = authorization_start(
        session,
        purpose=Purpose.REAUTHORIZE,
        provider_kind="gmail",
        user_id=1,
        redirect_uri="http://testserver/oauth/callback/",
        login_hint="support@acme.test",
        channel_id=3,
    )
    query = parse_qs(urlsplit(url).query)
    assert query["login_hint"] == ["support@acme.test"] and query["code_challenge_method"] == ["S256"]
    assert query["redirect_uri"] == ["http://testserver/oauth/callback/"]
    pending = state_pop(session, query["state"][0], user_id=1)
    assert (pending.purpose, pending.provider, pending.channel_id) == (Purpose.REAUTHORIZE, "gmail", 3)
    assert pending.redirect_uri == "http://testserver/oauth/callback/" and pending.code_verifier


def test_the_purpose_comes_back_as_a_purpose_from_the_stored_session():
    # The session is stored as JSON: the purpose is kept as its plain value and read back as the enum.
    session = SessionStore()
    state = state_stash(session, _pending(purpose=Purpose.LINK, user_id=None))
    session.save()
    stored = SessionStore(session.session_key)
    assert state_purpose(stored, state) is Purpose.LINK
    assert state_pop(stored, state, user_id=None).purpose is Purpose.LINK
    assert state_purpose(stored, "unknown") is None


def test_the_pending_space_comes_back_as_one_from_the_stored_session():
    space = PendingSpace(
        kind=SpaceKind.COMPANY, space_workspace_id=None, workspace_id=7, inbox_name="Support", import_days=30
    )
    session = SessionStore()
    state = state_stash(session, _pending(purpose=Purpose.CONNECT, space=space))
    session.save()
    pending = state_pop(SessionStore(session.session_key), state, user_id=1)
    assert pending.space == space
    assert pending.space.kind is SpaceKind.COMPANY


def test_a_round_trip_without_a_space_has_none():
    session = SessionStore()
    state = state_stash(session, _pending(channel_id=3))
    session.save()
    assert state_pop(SessionStore(session.session_key), state, user_id=1).space is None
