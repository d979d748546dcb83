"""The same Gmail pushes routed through a real topic and push subscription of the Google Cloud Pub/Sub
emulator (Debian package google-cloud-cli-pubsub-emulator, from Google's own package source; needs Java).

Where the emulator is not installed the test skips and says so; where it is installed it runs (and under
CI=true an emulator that does not start fails the test instead of skipping it). The emulator's pushes
carry no token: the app takes them with GMAIL_PUSH_VERIFY=emulator, from loopback only.
REST API: https://cloud.google.com/pubsub/docs/emulator and
https://cloud.google.com/pubsub/docs/reference/rest/v1/projects.subscriptions/create (pushConfig.pushEndpoint).
"""

import os
import shutil
import signal
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from channels_app.models import GmailWatch, Message
from channels_app.tasks import renew_subscription_channel, sync_channel
from localprovider import control
from localprovider.processes import log_tail, wait_until
from tests.gmail_push_fixtures import wait_for

pytestmark = [pytest.mark.local_provider, pytest.mark.django_db(transaction=True)]

PORT = int(os.environ.get("PUBSUB_EMULATOR_PORT", "8685"))
EMULATOR = f"http://127.0.0.1:{PORT}"


def _emulator_installed() -> str | None:
    gcloud = shutil.which("gcloud")
    if gcloud is None:
        return None
    sdk = Path(os.path.realpath(gcloud)).parents[1]
    return gcloud if (sdk / "platform" / "pubsub-emulator").is_dir() else None


def _answers() -> bool:
    try:
        return requests.get(EMULATOR, timeout=1).status_code == 200
    except requests.RequestException:
        return False


@pytest.fixture(scope="module")
def pubsub_emulator(tmp_path_factory) -> Iterator[str]:
    gcloud = _emulator_installed()
    if gcloud is None:
        pytest.skip(
            "The Google Cloud Pub/Sub emulator is not installed (google-cloud-cli-pubsub-emulator, from Google's "
            "package source); test_gmail_push_live.py covers the same pushes through Local mail alone."
        )
    log = tmp_path_factory.mktemp("pubsub") / "emulator.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [gcloud, "beta", "emulators", "pubsub", "start", f"--host-port=127.0.0.1:{PORT}", "--project=local-mail"],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: gcloud starts Java, both are stopped together
        )
    try:
        if not wait_until(_answers, timeout=90, interval=0.5):
            why = f"The Pub/Sub emulator did not answer on {EMULATOR}:\n{log_tail(log)}"
            if os.environ.get("CI") == "true":
                pytest.fail(why)
            pytest.skip(why)
        yield EMULATOR
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def test_a_delivery_pushed_through_the_emulator_is_stored_within_seconds(
    pubsub_emulator, settings, local_provider, live_server, gmail_channel
):
    topic = f"projects/local-mail/topics/gmail-{uuid.uuid4().hex[:8]}"
    subscription = f"projects/local-mail/subscriptions/push-{uuid.uuid4().hex[:8]}"
    endpoint = f"{live_server.url.replace('localhost', '127.0.0.1')}/push/gmail/"
    assert requests.put(f"{pubsub_emulator}/v1/{topic}", timeout=10).status_code == 200
    created = requests.put(
        f"{pubsub_emulator}/v1/{subscription}",
        json={"topic": topic, "pushConfig": {"pushEndpoint": endpoint}, "ackDeadlineSeconds": 10},
        timeout=10,
    )
    assert created.status_code == 200, created.text
    gmail = {**settings.MAIL_PROVIDERS["gmail"], "PUBSUB_TOPIC": topic, "PUSH_VERIFY": "emulator"}
    settings.MAIL_PROVIDERS = {**settings.MAIL_PROVIDERS, "gmail": gmail}
    control.create_push_subscription(local_provider, topic, endpoint, emulator=pubsub_emulator)
    try:
        channel, address = gmail_channel()
        renew_subscription_channel(channel.pk)
        sync_channel(channel.pk)
        control.append_messages(
            local_provider, address, [control.make_message(recipient=address, subject="Via Pub/Sub")]
        )
        assert wait_for(lambda: Message.objects.filter(channel=channel, subject="Via Pub/Sub").exists(), seconds=15)
        assert GmailWatch.objects.get(channel=channel).pushes == 1
    finally:
        control.delete_push_subscriptions(local_provider, topic)
        requests.delete(f"{pubsub_emulator}/v1/{subscription}", timeout=10)
