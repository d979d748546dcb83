"""The widths every page is tried at: a laptop's and a phone's."""

from playwright.sync_api import Page

LAPTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


def sideways_overflow(page: Page) -> int:
    """How many pixels the page is wider than the window (0: nothing to scroll sideways)."""
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


def without_javascript(page: Page) -> None:
    """Our scripts are refused from now on (the policy allows no other kind), as if JavaScript were off."""
    page.route("**/*.js", lambda route: route.abort())
