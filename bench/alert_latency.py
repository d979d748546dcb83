"""How fast an auth failure becomes an alert.

For each of N channels whose access was revoked at the local provider, one sync
pass runs; we measure
  (a) the raw cost of the failing request alone: one XOAUTH2 login refused by Dovecot,
  (b) from the moment the provider layer raised the classified failure to the
      Notification rows being committed (our own overhead),
  (c) the whole pass, from the task starting to the alert existing.
Prints medians and the ratios b/a and c/a. Run: `.venv/bin/python bench/alert_latency.py [N]`.
"""

import statistics
import sys
import time

from _setup import django_for_bench

django_for_bench("alert", http_port=8768, imap_port=14146)

from channels_app.demo import local_consent  # noqa: E402
from channels_app.models import (  # noqa: E402
    Channel,
    Company,
    CompanyMembership,
    Inbox,
    InboxKind,
    Notification,
    Role,
    User,
    Workspace,
)
from channels_app.providers import AuthFailure, get_provider  # noqa: E402
from channels_app.services import health  # noqa: E402
from channels_app.services.credentials import channel_credentials, channel_store_credentials  # noqa: E402
from channels_app.tasks import sync_channel  # noqa: E402
from localprovider import control  # noqa: E402

N = int(sys.argv[1]) if len(sys.argv) > 1 else 20


def connected_channel(instance: control.Instance, workspace: Workspace, i: int) -> Channel:
    address = f"bench-{i}-{time.time_ns()}@acme.test"
    control.create_mailbox(instance, address, "pw")
    credentials = local_consent(address, "pw")
    inbox = Inbox.objects.create(company=workspace.company, name=address, kind=InboxKind.SHARED, workspace=workspace)
    channel = Channel.objects.create(inbox=inbox, provider="local", address=address)
    channel_store_credentials(channel=channel, credentials=credentials)
    return channel


def main() -> None:
    instance = control.start(control.instance_from_env())
    company = Company.objects.create(name=f"Bench {time.time_ns()}")
    workspace = Workspace.objects.create(company=company, name="Support")
    admin = User.objects.create(username=f"a{time.time_ns()}", email=f"admin{time.time_ns()}@acme.test")
    CompanyMembership.objects.create(user=admin, company=company, role=Role.ADMIN)

    raised_at: list[float] = []
    original = health.record_auth_failure

    def timed_record(*args, **kwargs):  # type: ignore[no-untyped-def]
        raised_at.append(time.perf_counter())
        return original(*args, **kwargs)

    health.record_auth_failure = timed_record  # type: ignore[assignment]
    raw, overhead, whole = [], [], []
    try:
        for i in range(N):
            channel = connected_channel(instance, workspace, i)
            control.revoke_tokens(instance, channel.address)
            provider = get_provider("local")
            started = time.perf_counter()
            try:
                with provider.open_mailbox(
                    provider.imap_endpoint(address=channel.address), channel_credentials(channel)
                ):
                    pass
            except AuthFailure:
                raw.append(time.perf_counter() - started)
            started = time.perf_counter()
            sync_channel(channel.pk)  # returns once the alert's transaction has committed
            committed = time.perf_counter()
            assert Notification.objects.filter(channel=channel, kind="needs_reauth").exists()
            overhead.append(committed - raised_at[-1])
            whole.append(committed - started)
    finally:
        health.record_auth_failure = original  # type: ignore[assignment]
        control.stop(instance)

    a, b, c = (statistics.median(x) * 1000 for x in (raw, overhead, whole))
    print(f"channels: {N}")
    print(f"(a) one refused XOAUTH2 login (raw failing request): median {a:.1f} ms")
    print(f"(b) classified failure -> Notification committed:   median {b:.1f} ms  ratio b/a = {b / a:.2f}")
    print(f"(c) whole sync pass -> Notification committed:       median {c:.1f} ms  ratio c/a = {c / a:.2f}")


if __name__ == "__main__":
    main()
