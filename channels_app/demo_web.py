"""`make run` waits for its own web server before anything asks Microsoft Graph for a subscription.

Graph checks a notification URL when a subscription is made: it POSTs a validationToken to it and refuses
the subscription when the echo does not come back within 10 s ("Subscription validation request failed",
https://learn.microsoft.com/en-us/graph/change-notifications-delivery-webhooks#notificationurl-validation). A
subscription asked for while runserver is still starting is refused that way, which reads as a
configuration failure and alerts the demo's admin for nothing; hence the wait.
"""

import enum
import time
import urllib.error
import urllib.request
from collections.abc import Callable

# runserver answers within a second or two; a machine this slow has a problem worth saying out loud.
WAIT_SECONDS = 20.0
INTERVAL_SECONDS = 0.25


class WebServerWait(enum.Enum):
    ANSWERS = "answers"
    SILENT = "silent"  # still no answer when the deadline came
    EXITED = "exited"  # the web server's process ended before answering


def web_server_answers(url: str, timeout: float = 1.0) -> bool:
    """Whether an HTTP server answers at `url`. Any status is an answer (the home page redirects to the
    sign-in page; a refusal is an answer too); no connection, or none in time, is not."""
    try:
        with urllib.request.urlopen(url, timeout=timeout):  # noqa: S310 (our own http:// address)
            return True
    except urllib.error.HTTPError:
        return True
    except OSError:  # URLError, connection refused or reset, timeout
        return False


def web_server_wait(
    url: str,
    *,
    running: Callable[[], bool],
    answers: Callable[[str], bool] = web_server_answers,
    deadline_seconds: float = WAIT_SECONDS,
    interval_seconds: float = INTERVAL_SECONDS,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> WebServerWait:
    """Ask `url` every `interval_seconds` until it answers, its process stops `running`, or
    `deadline_seconds` have passed on `clock`."""
    deadline = clock() + deadline_seconds
    while True:
        if answers(url):
            return WebServerWait.ANSWERS
        if not running():
            return WebServerWait.EXITED
        if clock() >= deadline:
            return WebServerWait.SILENT
        sleep(interval_seconds)
