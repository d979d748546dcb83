import pytest

from channels_app.providers import Credentials, get_provider
from channels_app.services import grants
from channels_app.services.connect import DuplicateChannel, WrongAccount
from channels_app.services.grants import Grant, grant_given_back_on


@pytest.fixture
def given_back(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """The grants given back, as (provider, account); nothing reaches a provider."""
    calls: list[tuple[str, str]] = []
    monkeypatch.setattr(grants, "grant_discard", lambda **kw: calls.append((kw["provider_kind"], kw["address"])))
    return calls


def _grant() -> Grant:
    return Grant("gmail", get_provider("gmail"), Credentials(access_token="a", refresh_token="r"), "dana@acme.test")


def test_a_refused_step_gives_the_grant_back_and_the_refusal_reaches_the_caller(given_back):
    with pytest.raises(WrongAccount), grant_given_back_on(_grant(), WrongAccount, DuplicateChannel):
        raise WrongAccount(used="dana@acme.test", expected="support@acme.test")
    assert given_back == [("gmail", "dana@acme.test")]


def test_a_step_that_succeeds_keeps_the_grant(given_back):
    with grant_given_back_on(_grant(), WrongAccount):
        pass
    assert given_back == []


def test_a_failure_that_is_no_refusal_keeps_the_grant_for_the_caller_to_decide(given_back):
    with pytest.raises(RuntimeError), grant_given_back_on(_grant(), WrongAccount):
        raise RuntimeError("the database went away")
    assert given_back == []
