"""Browser tests: Playwright drives Debian's Chromium (headless) against the app on pytest-django's live server.

Each test gets `open_page(user)`, a signed-in page in a browser context of its own, and `shots`, which saves
what the person saw under test-artifacts/e2e/<test>/ (and, with UPDATE_SCREENSHOTS=1, the README's pictures
under docs/screenshots/).
"""

import os
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.core.cache import cache

from tests.conftest import PASSWORD

CHROMIUM = Path("/usr/bin/chromium")  # Debian's package; Playwright's own browser is never downloaded
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1280, "height": 800}
REPO_DIR = Path(__file__).resolve().parents[2]
ARTIFACTS_DIR = REPO_DIR / "test-artifacts" / "e2e"
DOCS_SCREENSHOTS_DIR = REPO_DIR / "docs" / "screenshots"
# Long enough for a poll of the pop-up (every 4 s) and an OAuth round trip with its backfill.
TIMEOUT_MS = 10_000


def _unavailable(reason: str) -> None:
    """Skip where Chromium cannot run, except under CI, where the browser tests must run."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"The browser tests must run under CI, but: {reason}")
    pytest.skip(f"The browser tests cannot run here: {reason}")


@pytest.fixture(scope="package")
def chromium():
    """One browser for the tests in this folder, stopped before the rest of the suite runs."""
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is missing (apt-get install chromium)")
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError as missing:
        _unavailable(f"the playwright package is missing ({missing})")
    with pytest.MonkeyPatch.context() as patch:
        # While Playwright's sync API runs, its asyncio event loop counts as running in the test thread, and
        # Django refuses ORM calls from that thread (SynchronousOnlyOperation) though the tests' calls are plain
        # synchronous ones. Allowed only meanwhile: subprocesses of other tests inherit the environment, and
        # `manage.py check --deploy` rejects the variable.
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        playwright = sync_playwright().start()
        try:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        except Error as error:
            playwright.stop()
            _unavailable(f"Chromium did not start: {error.message.splitlines()[0]}")
        yield browser
        browser.close()
        playwright.stop()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.e2e_failed = report.failed
    return report


class Screenshots:
    """Numbered screenshots of a test's key steps: test-artifacts/e2e/<test>/NN-step.png."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.count = 0

    def take(self, page, step: str, *, docs: str | None = None) -> Path:
        """Saves the page; `docs` names a README picture, rewritten when UPDATE_SCREENSHOTS=1."""
        self.count += 1
        path = self.directory / f"{self.count:02d}-{step}.png"
        page.screenshot(path=str(path))
        if docs and os.environ.get("UPDATE_SCREENSHOTS") == "1":
            DOCS_SCREENSHOTS_DIR.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, DOCS_SCREENSHOTS_DIR / f"{docs}.png")
        return path


@pytest.fixture
def shots(request) -> Screenshots:
    directory = ARTIFACTS_DIR / re.sub(r"[^\w.-]+", "_", request.node.name)
    shutil.rmtree(directory, ignore_errors=True)  # only this run's steps
    directory.mkdir(parents=True)
    return Screenshots(directory)


def watch_csp(page) -> None:
    """Keeps what Chromium refuses under our Content-Security-Policy in `page.csp_violations`."""
    page.csp_violations = []

    def note(message) -> None:
        if "Content Security Policy" in message.text:
            page.csp_violations.append(f"{page.url}: {message.text} {message.location}")

    page.on("console", note)


@pytest.fixture
def open_page(request, chromium, live_server, shots) -> Iterator[Callable]:
    """`open_page(user, **options)`: a page signed in as `user` through the sign-in form, in a context of its own
    (Playwright's context options on top of ours, e.g. timezone_id or java_script_enabled=False).

    Every page of every browser test, the sign-in page first, must run without a CSP violation.
    """
    contexts = []
    pages = []

    def open_as(user, **options):
        """`options` for Playwright's new_context, e.g. java_script_enabled=False."""
        context = chromium.new_context(**{"viewport": VIEWPORT, "base_url": live_server.url, **options})
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        watch_csp(page)
        pages.append(page)
        page.goto("/accounts/login/")
        page.fill("#id_login", user.email)
        page.fill("#id_password", PASSWORD)
        page.click("form button[type=submit]")
        page.wait_for_url(f"{live_server.url}/")
        return page

    yield open_as
    for context in contexts:
        if getattr(request.node, "e2e_failed", False):
            for page in context.pages:
                shots.take(page, "failed")  # what each person saw when the test failed
        context.close()
    # Sign-ins count against allauth's limits in the cache table, which a transactional test's flush keeps.
    cache.clear()
    assert [v for page in pages for v in page.csp_violations] == []
