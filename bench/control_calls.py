"""What one account operation of `localprovider.control` costs: at the admin endpoint of the running
OAuth server, and in a subprocess (how every call went before, and how they go while it is stopped).

Times N calls each of `create_mailbox` (a new address each time) and `revoke_tokens` (of an account
holding one freshly issued grant) both ways, and prints the means, medians and the ratio. No main-app
Django: the control API is what the tests call. Run: `.venv/bin/python bench/control_calls.py [N]`.
"""

import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from localprovider import control  # noqa: E402

N = int(sys.argv[1]) if len(sys.argv) > 1 else 20


def _timed(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def _measure(instance: control.Instance, run: str) -> dict[str, list[float]]:
    addresses = [f"c{run}-{i}@acme.test" for i in range(N)]
    creates = [_timed(lambda a=a: control.create_mailbox(instance, a, "pw")) for a in addresses]
    revokes = []
    for address in addresses:
        control.issue_tokens(instance, [address])
        revokes.append(_timed(lambda a=address: control.revoke_tokens(instance, a)))
    return {"create_mailbox": creates, "revoke_tokens": revokes}


def main() -> None:
    # An instance of its own unless LOCAL_PROVIDER_* say otherwise.
    os.environ.setdefault("LOCAL_PROVIDER_DIR", str(ROOT / ".testbed" / "bench-control"))
    os.environ.setdefault("LOCAL_PROVIDER_HTTP_PORT", "8772")
    os.environ.setdefault("LOCAL_PROVIDER_IMAP_PORT", "14150")
    instance = control.instance_from_env()
    control.start(instance)
    run = uuid.uuid4().hex[:6]
    try:
        over_http = _measure(instance, f"{run}h")
        control.stop_http(instance)
        in_subprocess = _measure(instance, f"{run}s")
    finally:
        control.stop(instance)
    for name in over_http:
        http_mean, sub_mean = statistics.mean(over_http[name]), statistics.mean(in_subprocess[name])
        print(
            f"{name:15} admin endpoint mean {http_mean * 1000:6.1f} ms (median "
            f"{statistics.median(over_http[name]) * 1000:6.1f}), subprocess mean {sub_mean * 1000:6.1f} ms "
            f"(median {statistics.median(in_subprocess[name]) * 1000:6.1f}); subprocess/endpoint "
            f"{sub_mean / http_mean:4.1f}x  (n={N})"
        )


if __name__ == "__main__":
    main()
