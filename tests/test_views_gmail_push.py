"""The Gmail push webhook: only pushes signed by Google for our audience, as our push service account,
about an address we watch, are taken; every refusal is a 4xx that does not say which check failed."""

import base64
import json
import time
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from jwcrypto import jwk, jwt

from channels_app.models import GmailWatch

AUDIENCE = "https://inbox.example.test/push/gmail/"
ACCOUNT = "gmail-push@our-project.iam.gserviceaccount.com"
URL = "/push/gmail/"


@pytest.fixture
def push_settings(fake, settings):
    settings.MAIL_PROVIDERS = {
        **settings.MAIL_PROVIDERS,
        "gmail": {
            **settings.MAIL_PROVIDERS["gmail"],
            "API_URL": fake.base_url,
            "PUBSUB_TOPIC": "projects/our-project/topics/gmail",
            "PUSH_VERIFY": "oidc",
            "PUSH_AUDIENCE": AUDIENCE,
            "PUSH_SERVICE_ACCOUNT": ACCOUNT,
            "PUSH_JWKS_URL": fake.jwks_url,
            "PUSH_ISSUER": "https://accounts.google.com",
        },
    }
    return fake


@pytest.fixture
def watched(tenancy):
    channel = tenancy.shared_channel
    GmailWatch.objects.create(
        channel=channel, history_id=100, expires_at=timezone.now() + timedelta(days=7), renewed_at=timezone.now()
    )
    return channel


def _claims(**overrides):
    now = int(time.time())
    claims = {
        "aud": AUDIENCE,
        "azp": "1",
        "email": ACCOUNT,
        "email_verified": True,
        "iss": "https://accounts.google.com",
        "sub": "1",
        "iat": now,
        "exp": now + 3600,
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def _envelope(address="support@acme.test", history_id=101):
    data = base64.b64encode(json.dumps({"emailAddress": address, "historyId": history_id}).encode()).decode()
    return json.dumps(
        {
            "message": {"data": data, "messageId": "1", "publishTime": "2026-01-01T00:00:00Z"},
            "subscription": "projects/our-project/subscriptions/s",
        }
    )


def _push(client, token, body=None, **extra):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token is not None else {}
    return client.post(URL, body or _envelope(), content_type="application/json", **headers, **extra)


def _unsigned(claims):
    part = lambda d: base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()  # noqa: E731
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


def _signed_by_another_key(claims):
    key = jwk.JWK.generate(kty="RSA", size=2048, kid="test-key")
    token = jwt.JWT(header={"alg": "RS256", "kid": "test-key"}, claims=claims)
    token.make_signed_token(key)
    return token.serialize()


def test_the_url_is_the_webhook():
    assert reverse("gmail_push") == URL


def test_a_good_push_is_answered_at_once_and_queues_the_import(
    client, push_settings, watched, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as queued:
        response = _push(client, push_settings.sign_id_token(**_claims()))
    assert response.status_code == 204
    assert len(queued) == 1
    watch = GmailWatch.objects.get(channel=watched)
    assert watch.pushes == 1 and watch.last_push_at is not None


def test_a_push_for_a_channel_whose_healthy_idle_a_listener_holds_is_handed_to_that_listener(
    client, push_settings, watched, django_capture_on_commit_callbacks, monkeypatch
):
    from channels_app.models import Channel
    from channels_app.services.idle_lease import idle_claim, idle_started

    queued: list[tuple] = []
    monkeypatch.setattr("channels_app.services.gmail_push.async_task", lambda *args, **kw: queued.append(args))
    now = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        assert _push(client, push_settings.sign_id_token(**_claims())).status_code == 204
    assert queued == [("channels_app.tasks.gmail_push_channel", watched.pk, 101)]  # no listener: a worker
    idle_claim(owner="listener-1", limit=10, now=now)
    idle_started(owner="listener-1", channel_id=watched.pk, now=now)
    with django_capture_on_commit_callbacks(execute=True):
        assert _push(client, push_settings.sign_id_token(**_claims()), _envelope(history_id=102)).status_code == 204
    assert len(queued) == 1
    assert Channel.objects.get(pk=watched.pk).idle_sync_requests == 1


@pytest.mark.parametrize(
    "why",
    ["wrong aud", "wrong iss", "expired", "unsigned", "another key", "other account", "unverified", "no token"],
)
def test_a_push_that_does_not_prove_it_is_ours_changes_nothing(
    why, client, push_settings, watched, django_capture_on_commit_callbacks
):
    sign = push_settings.sign_id_token
    token = {
        "wrong aud": lambda: sign(**_claims(aud="https://elsewhere.test/push/")),
        "wrong iss": lambda: sign(**_claims(iss="https://evil.test")),
        "expired": lambda: sign(**_claims(exp=int(time.time()) - 3600, iat=int(time.time()) - 7200)),
        "unsigned": lambda: _unsigned(_claims()),
        "another key": lambda: _signed_by_another_key(_claims()),
        "other account": lambda: sign(**_claims(email="someone@else.iam.gserviceaccount.com")),
        "unverified": lambda: sign(**_claims(email_verified=False)),
        "no token": lambda: None,
    }[why]()
    with django_capture_on_commit_callbacks() as queued:
        response = _push(client, token)
    assert response.status_code == 403
    assert queued == []
    assert GmailWatch.objects.get(channel=watched).pushes == 0


def test_an_unknown_address_gets_the_same_answer_as_a_bad_token(client, push_settings, watched):
    unknown = _push(client, push_settings.sign_id_token(**_claims()), _envelope("nobody@acme.test"))
    bad_token = _push(client, push_settings.sign_id_token(**_claims(aud="https://elsewhere.test/")))
    assert unknown.status_code == bad_token.status_code == 403
    assert unknown.content == bad_token.content


def test_a_channel_that_is_not_active_is_not_synced_by_a_push(client, push_settings, watched):
    watched.status = "needs_reauth"
    watched.save(update_fields=["status"])
    assert _push(client, push_settings.sign_id_token(**_claims())).status_code == 403


@pytest.mark.parametrize("body", ["not json", json.dumps({"message": {"data": "%%%"}}), json.dumps({"x": 1})])
def test_a_body_that_is_not_a_push_is_a_400_not_a_500(body, client, push_settings, watched):
    assert _push(client, push_settings.sign_id_token(**_claims()), body).status_code == 400


def test_push_is_refused_while_no_topic_is_configured(client, push_settings, watched, settings):
    gmail = {**settings.MAIL_PROVIDERS["gmail"], "PUBSUB_TOPIC": ""}
    settings.MAIL_PROVIDERS = {**settings.MAIL_PROVIDERS, "gmail": gmail}
    assert _push(client, push_settings.sign_id_token(**_claims())).status_code == 403


def test_unreachable_google_keys_ask_pub_sub_to_retry(client, push_settings, watched, settings):
    gmail = {**settings.MAIL_PROVIDERS["gmail"], "PUSH_JWKS_URL": "http://127.0.0.1:9/certs"}
    settings.MAIL_PROVIDERS = {**settings.MAIL_PROVIDERS, "gmail": gmail}
    from channels_app.providers import id_token

    id_token._KEYS.clear()
    response = _push(client, push_settings.sign_id_token(**_claims()))
    assert response.status_code == 503


def test_emulator_mode_takes_unsigned_pushes_from_loopback_only(client, push_settings, watched, settings):
    gmail = {**settings.MAIL_PROVIDERS["gmail"], "PUSH_VERIFY": "emulator"}
    settings.MAIL_PROVIDERS = {**settings.MAIL_PROVIDERS, "gmail": gmail}
    assert _push(client, None, REMOTE_ADDR="10.1.2.3").status_code == 403
    assert _push(client, None, REMOTE_ADDR="127.0.0.1").status_code == 204


def test_only_get_is_refused_politely(client, push_settings):
    assert client.get(URL).status_code == 405
