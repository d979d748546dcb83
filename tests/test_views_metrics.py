"""The Prometheus endpoint: off without METRICS_TOKEN, 401 without a bearer token, 403 with a wrong one."""

import hmac

import pytest

from channels_app.views import metrics as metrics_view

TOKEN = "s3cret-metrics-token-0123456789abcdef"
URL = "/metrics"


@pytest.fixture
def token(settings) -> str:
    settings.METRICS_TOKEN = TOKEN
    return TOKEN


def test_the_endpoint_does_not_exist_without_a_token_setting(client, settings, db):
    settings.METRICS_TOKEN = ""
    assert client.get(URL).status_code == 404
    assert client.get(URL, HTTP_AUTHORIZATION="Bearer anything").status_code == 404


def test_no_token_or_another_scheme_is_asked_for_a_bearer_token(client, token, db):
    for header in (None, "Basic dXNlcjpwYXNz", "Bearer ", "Bearer"):
        response = client.get(URL, **({"HTTP_AUTHORIZATION": header} if header is not None else {}))
        assert response.status_code == 401, header
        assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'
        assert b"shared_inbox" not in response.content


def test_a_wrong_token_is_refused(client, token, db):
    for wrong in ("nope", TOKEN[:-1], TOKEN + "x", TOKEN.upper()):
        response = client.get(URL, HTTP_AUTHORIZATION=f"Bearer {wrong}")
        assert response.status_code == 403
        assert b"shared_inbox" not in response.content


def test_the_right_token_gets_the_metrics(client, token, tenancy):
    response = client.get(URL, HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    body = response.content.decode()
    assert 'shared_inbox_channels{provider="gmail",status="active"} 2.0' in body
    assert "# TYPE shared_inbox_sync_duration_seconds histogram" in body
    assert "# TYPE shared_inbox_failures_total counter" in body


def test_the_scheme_is_not_case_sensitive(client, token, db):
    assert client.get(URL, HTTP_AUTHORIZATION=f"bearer {TOKEN}").status_code == 200


def test_only_get_is_answered(client, token, db):
    assert client.post(URL, HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 405


def test_tokens_are_compared_in_constant_time(client, token, db, monkeypatch):
    compared = []
    real = hmac.compare_digest

    def spy(a, b):
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(metrics_view.hmac, "compare_digest", spy)
    client.get(URL, HTTP_AUTHORIZATION="Bearer short")
    # Digests of what was sent and of the token: equal lengths whatever was sent.
    assert len(compared) == 1 and len(compared[0][0]) == len(compared[0][1]) == 32
