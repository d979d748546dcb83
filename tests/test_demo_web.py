"""channels_app/demo_web.py and its use by `run_demo`: the worker (and with it any Graph subscription) starts
only once the web server answers. Time is a fake clock that the fake sleeper moves on; nothing waits."""

import http.server
import io
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from channels_app import demo_web
from channels_app.demo_web import WebServerWait, web_server_answers, web_server_wait
from channels_app.management.commands import run_demo


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def answering_from(attempt: int) -> tuple[list[str], Any]:
    asked: list[str] = []

    def answers(url: str) -> bool:
        asked.append(url)
        return len(asked) >= attempt

    return asked, answers


def test_it_returns_as_soon_as_the_server_answers_without_sleeping():
    time = FakeTime()
    asked, answers = answering_from(1)
    waited = web_server_wait("http://h/", running=lambda: True, answers=answers, clock=time.clock, sleep=time.sleep)
    assert (waited, asked, time.slept) == (WebServerWait.ANSWERS, ["http://h/"], [])


def test_it_asks_again_every_interval_until_the_server_answers():
    time = FakeTime()
    asked, answers = answering_from(4)
    waited = web_server_wait(
        "http://h/", running=lambda: True, answers=answers, interval_seconds=0.5, clock=time.clock, sleep=time.sleep
    )
    assert waited is WebServerWait.ANSWERS
    assert (len(asked), time.slept) == (4, [0.5, 0.5, 0.5])


def test_it_gives_up_at_the_deadline():
    time = FakeTime()
    asked, answers = answering_from(10_000)
    waited = web_server_wait(
        "http://h/",
        running=lambda: True,
        answers=answers,
        deadline_seconds=2,
        interval_seconds=0.5,
        clock=time.clock,
        sleep=time.sleep,
    )
    assert waited is WebServerWait.SILENT
    assert len(asked) == 5  # at 0, 0.5, 1, 1.5 and 2 s: the last one at the deadline itself
    assert time.now == 102.0


def test_it_stops_waiting_when_the_web_server_process_ended():
    time = FakeTime()
    asked, answers = answering_from(10_000)
    waited = web_server_wait("http://h/", running=lambda: False, answers=answers, clock=time.clock, sleep=time.sleep)
    assert (waited, len(asked), time.slept) == (WebServerWait.EXITED, 1, [])


class _NotFound(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_error(404)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def http_server() -> Iterator[str]:
    server = http.server.HTTPServer(("127.0.0.1", 0), _NotFound)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()
    server.server_close()


def test_any_http_status_is_an_answer(http_server):
    assert web_server_answers(http_server)


def test_a_port_nobody_listens_on_is_no_answer():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: connections are refused
        assert not web_server_answers(f"http://127.0.0.1:{port}/")


# --- run_demo starts the workers after the wait --------------------------------------------------


class FakePopen:
    def __init__(self, args: list[str], env: dict[str, str] | None = None) -> None:
        self.args, self.env = args, env


@pytest.fixture
def starting(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Start the workers with `waited` as the wait's outcome; what happened, in order."""
    log: list[Any] = []
    monkeypatch.setattr(run_demo.subscriptions, "channels_without_subscription", lambda: [7])
    monkeypatch.setattr(run_demo, "async_task", lambda func, channel_id, **kw: log.append(("queued", channel_id)))

    def start(waited: WebServerWait) -> tuple[list[Any], list[FakePopen], str]:
        def wait(url: str, *, running: Any) -> WebServerWait:
            log.append(("waited", url))
            return waited

        def popen(args: list[str], env: dict[str, str] | None = None) -> FakePopen:
            log.append(("started", args[-1]))
            return FakePopen(args, env)

        monkeypatch.setattr(run_demo, "web_server_wait", wait)
        monkeypatch.setattr(run_demo.subprocess, "Popen", popen)
        said = io.StringIO()
        workers = run_demo.Command(stderr=said)._start_workers(["python", "manage.py"], "127.0.0.1:8960", web=None)  # type: ignore[arg-type]
        return log, workers, said.getvalue()

    return start


def test_the_workers_start_and_graph_is_asked_only_after_the_web_server_answers(starting, monkeypatch):
    monkeypatch.delenv("GRAPH_NOTIFICATIONS", raising=False)
    log, workers, said = starting(WebServerWait.ANSWERS)
    assert log == [
        ("waited", "http://127.0.0.1:8960/"),
        ("started", "qcluster"),
        ("started", "listen"),
        ("queued", 7),
    ]
    assert all("GRAPH_NOTIFICATIONS" not in worker.env for worker in workers)
    assert said == ""


@pytest.mark.parametrize(
    ("waited", "why"),
    [(WebServerWait.SILENT, f"did not answer within {demo_web.WAIT_SECONDS:.0f} s"), (WebServerWait.EXITED, "stopped")],
)
def test_without_an_answer_it_says_so_and_the_workers_poll_without_graph(starting, waited, why):
    log, workers, said = starting(waited)
    assert ("queued", 7) not in log
    assert [worker.env["GRAPH_NOTIFICATIONS"] for worker in workers] == ["0", "0"]
    assert f"The web server at http://127.0.0.1:8960/ {why}: Microsoft channels are polled this run" in said
