"""Cloud Pub/Sub as Gmail uses it, on loopback: topics, push subscriptions, and pushes signed like Google's.

Topics and their push subscriptions live in `<instance dir>/pubsub.json` (made by `control.create_topic`
and `control.create_push_subscription`). Publishing a Gmail notification POSTs, to each push
subscription's endpoint, Pub/Sub's push envelope (https://cloud.google.com/pubsub/docs/push#receive_push):

    {"message": {"data": base64(json), "messageId", "message_id", "publishTime", "publish_time",
                 "attributes"}, "subscription": "projects/P/subscriptions/S"}

with `Authorization: Bearer <OIDC token>` as an authenticated push subscription sends it
(https://cloud.google.com/pubsub/docs/authenticate-push-subscriptions): RS256, signed with Local mail's
own ID-token key (its JWKS is at /o/.well-known/jwks.json), claims aud, azp, email, email_verified, exp,
iat, iss, sub. A subscription that names a Pub/Sub emulator (`emulator`) is fed through it instead: the
message is published on the emulator's topic and the emulator pushes it (without a token, as it does).
Plain data and urllib, no Django. One attempt per push, logged to `<dir>/pubsub.log`.
"""

import base64
import fcntl
import itertools
import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jwcrypto import jwk, jwt

from localprovider.instance import Instance

PUSH_TIMEOUT_SECONDS = 10  # Pub/Sub's default acknowledgement deadline
_loopback = urllib.request.build_opener(urllib.request.ProxyHandler({}))
_message_ids = itertools.count(int(time.time() * 1000) % 10**9)


def _path(instance: Instance) -> Path:
    return instance.dir / "pubsub.json"


@contextmanager
def _changing(instance: Instance) -> Iterator[dict[str, Any]]:
    instance.dir.mkdir(parents=True, exist_ok=True)
    with open(instance.dir / "pubsub.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        config = read_config(instance)
        yield config
        tmp = _path(instance).with_suffix(".tmp")
        tmp.write_text(json.dumps(config, indent=1))
        os.replace(tmp, _path(instance))


def read_config(instance: Instance) -> dict[str, Any]:
    try:
        config: dict[str, Any] = json.loads(_path(instance).read_text())
    except (FileNotFoundError, ValueError):
        config = {}
    config.setdefault("topics", [])
    config.setdefault("subscriptions", {})
    return config


def create_topic(instance: Instance, topic: str) -> None:
    with _changing(instance) as config:
        if topic not in config["topics"]:
            config["topics"].append(topic)


def topic_exists(instance: Instance, topic: str) -> bool:
    return topic in read_config(instance)["topics"]


def create_push_subscription(
    instance: Instance,
    *,
    name: str,
    topic: str,
    endpoint: str,
    audience: str | None,
    service_account: str,
    emulator: str | None = None,
) -> None:
    """A push subscription on `topic` (created too); `audience` None is Pub/Sub's default, the endpoint URL."""
    with _changing(instance) as config:
        if topic not in config["topics"]:
            config["topics"].append(topic)
        config["subscriptions"][name] = {
            "topic": topic,
            "endpoint": endpoint,
            "audience": audience or endpoint,
            "service_account": service_account,
            "emulator": emulator,
        }


def delete_subscriptions(instance: Instance, topic: str) -> None:
    with _changing(instance) as config:
        config["subscriptions"] = {n: s for n, s in config["subscriptions"].items() if s["topic"] != topic}


def _signing_key(instance: Instance) -> jwk.JWK:
    return jwk.JWK.from_pem((instance.dir / "oidc-signing-key.pem").read_bytes())


def push_token(instance: Instance, *, audience: str, service_account: str, lifetime: int = 3600) -> str:
    """The OIDC token an authenticated push carries; `kid` as Local mail's JWKS names the key."""
    key = _signing_key(instance)
    now = int(time.time())
    claims = {
        "aud": audience,
        "azp": "100000000000000000001",
        "email": service_account,
        "email_verified": True,
        "exp": now + lifetime,
        "iat": now,
        "iss": instance.base_url,
        "sub": "100000000000000000001",
    }
    token = jwt.JWT(header={"alg": "RS256", "kid": key.thumbprint(), "typ": "JWT"}, claims=claims)
    token.make_signed_token(key)
    return str(token.serialize())


def _post(url: str, body: dict[str, Any], headers: dict[str, str]) -> int:
    request = urllib.request.Request(  # noqa: S310 - a URL our own test or operator configured
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json", **headers}, method="POST"
    )
    try:
        with _loopback.open(request, timeout=PUSH_TIMEOUT_SECONDS) as response:
            return int(response.status)
    except urllib.error.HTTPError as answer:
        return int(answer.code)
    except OSError:
        return 0


def publish(instance: Instance, topic: str, data: dict[str, Any]) -> list[int]:
    """Deliver `data` to every push subscription of `topic`; the HTTP status of each push (0: unreachable)."""
    payload = base64.b64encode(json.dumps(data).encode()).decode()
    statuses = []
    for name, sub in read_config(instance)["subscriptions"].items():
        if sub["topic"] != topic:
            continue
        if sub.get("emulator"):
            status = _post(f"{sub['emulator']}/v1/{topic}:publish", {"messages": [{"data": payload}]}, {})
        else:
            message_id = str(next(_message_ids))
            published = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
            envelope = {
                "message": {
                    "data": payload,
                    "messageId": message_id,
                    "message_id": message_id,
                    "publishTime": published,
                    "publish_time": published,
                    "attributes": {},
                },
                "subscription": name,
            }
            token = push_token(instance, audience=sub["audience"], service_account=sub["service_account"])
            status = _post(sub["endpoint"], envelope, {"Authorization": f"Bearer {token}"})
        with open(instance.dir / "pubsub.log", "a") as log:
            log.write(f"{datetime.now(UTC).isoformat()} {name} {data.get('emailAddress')} -> {status}\n")
        statuses.append(status)
    return statuses
