"""providers/base.py: one taxonomy of why a channel stops (ReasonCode) and who can act on it (FailureKind)."""

import pytest

from channels_app.providers import AuthFailure, FailureKind, ReasonCode


def test_each_reason_names_the_kind_of_failure_that_sets_it():
    assert {r for r in ReasonCode if r.failure_kind is FailureKind.AUTH} == {
        ReasonCode.REVOKED,
        ReasonCode.DISUSE,
        ReasonCode.SUBSCRIPTION,
        ReasonCode.MFA,
        ReasonCode.SIGN_IN_FREQUENCY,
        ReasonCode.STAFF_REQUEST,
    }
    assert ReasonCode.POLICY.failure_kind is FailureKind.POLICY
    # Waiting for the organisation connection: its administrator acts, as on any policy.
    assert ReasonCode.ORGANISATION.failure_kind is FailureKind.POLICY
    assert ReasonCode.OUTAGE.failure_kind is FailureKind.PASSING
    # No provider failed: a person acted, or our own code stopped (staff alone hear of that).
    for reason in (ReasonCode.NONE, ReasonCode.BY_PERSON, ReasonCode.CRASH):
        assert reason.failure_kind is None


def test_an_auth_failure_carries_an_auth_reason_only():
    assert AuthFailure("Revoked.").reason is ReasonCode.REVOKED
    assert AuthFailure("MFA.", ReasonCode.MFA).reason.text.startswith("The provider now asks for multi-factor")
    with pytest.raises(ValueError, match="OUTAGE is not a reason for an auth failure"):
        AuthFailure("Down.", ReasonCode.OUTAGE)


def test_the_stored_values_stay_what_channels_hold():
    # Stored on channels (and filtered on in the admin): renaming one would strand the rows that hold it.
    assert [r.value for r in ReasonCode] == [
        "",
        "revoked",
        "disuse",
        "subscription",
        "mfa",
        "sign_in_frequency",
        "staff_request",
        "policy",
        "outage",
        "crash",
        "organisation",
        "by_person",
    ]
