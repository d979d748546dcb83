"""The widths every page is tried at: a laptop's and a phone's."""

from typing import TYPE_CHECKING

from playwright.sync_api import Page

if TYPE_CHECKING:
    from tests.e2e.conftest import Screenshots

LAPTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


def sideways_overflow(page: Page) -> int:
    """How many pixels the page is wider than the window (0: nothing to scroll sideways)."""
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


def without_javascript(page: Page) -> None:
    """Our scripts are refused from now on (the policy allows no other kind), as if JavaScript were off."""
    page.route("**/*.js", lambda route: route.abort())


def words_split_across_lines(page: Page, selector: str) -> list[str]:
    """The words in elements matching `selector` that the browser broke across two lines ("Microso|ft")."""
    return page.evaluate(
        """selector => {
            const split = [];
            for (const element of document.querySelectorAll(selector)) {
                const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
                for (let node = walker.nextNode(); node; node = walker.nextNode()) {
                    for (const match of node.textContent.matchAll(/\\S+/g)) {
                        const range = document.createRange();
                        range.setStart(node, match.index);
                        range.setEnd(node, match.index + match[0].length);
                        const lines = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
                        if (lines.size > 1) split.push(match[0]);
                    }
                }
            }
            return split;
        }""",
        selector,
    )


def at_both_widths(
    page: Page, shots: "Screenshots", name: str, *, docs: bool = False, phone_docs: bool = False
) -> None:
    """The page at laptop width, then at a phone's, the body scrolling sideways at neither, each kept by `shots`
    (test-artifacts/e2e/<test>/); `docs`, `phone_docs`: also the README's docs/screenshots/<name>.png and
    <name>-phone.png (rewritten with UPDATE_SCREENSHOTS=1). The window is the laptop's again afterwards."""
    page.evaluate("window.scrollTo(0, 0)")
    try:
        for size, suffix, keep in ((LAPTOP, "", docs), (PHONE, "-phone", phone_docs)):
            page.set_viewport_size(size)
            wide = sideways_overflow(page)
            assert wide <= 0, f"{name}: the page is {wide}px wider than the window at {size['width']} px"
            shots.take(page, f"{name}{suffix}", docs=f"{name}{suffix}" if keep else None)
    finally:
        page.set_viewport_size(LAPTOP)
