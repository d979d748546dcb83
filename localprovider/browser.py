"""Drive the provider's sign-in and consent pages over HTTP, as a person's browser would.

Tests of the main app and the demo's seeding use this to finish a real OAuth
round trip without a real browser; the Playwright tests click the same pages.
"""

from collections.abc import Iterable
from html.parser import HTMLParser
from urllib.parse import parse_qs, urljoin, urlsplit

import requests


class PageForms(HTMLParser):
    """The inputs of a page's forms and its links: enough to drive the sign-in and consent pages."""

    def __init__(self) -> None:
        super().__init__()
        self.inputs: dict[str, str] = {}
        # (name, value, ticked) of each checkbox: several share a name, so they are not in `inputs`.
        self.checkboxes: list[tuple[str, str, bool]] = []
        self.links: dict[str, str] = {}
        self._href: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "input" and a.get("type") == "checkbox" and a.get("name"):
            self.checkboxes.append((a["name"] or "", a.get("value") or "on", "checked" in a))
        elif tag == "input" and a.get("name"):
            self.inputs[a["name"] or ""] = a.get("value") or ""
        elif tag == "a":
            self._href = a.get("href")

    def handle_data(self, data: str) -> None:
        if self._href is not None and data.strip():
            self.links[data.strip()] = self._href
            self._href = None


def parse_page(html: str) -> PageForms:
    forms = PageForms()
    forms.feed(html)
    return forms


def sign_in(
    browser: requests.Session, page: requests.Response, email: str, password: str, *, follow: bool = True
) -> requests.Response:
    """Submit the sign-in page; returns the page it leads to (the consent page during a round trip), or
    with follow=False the redirect to it."""
    fields = parse_page(page.text).inputs
    data = {**fields, "email": email, "password": password}
    return browser.post(urljoin(page.url, "/signin/"), data=data, allow_redirects=follow)


def answer_consent(
    browser: requests.Session, page: requests.Response, *, allow: bool = True, untick: Iterable[str] = ()
) -> str:
    """Allow or deny on the consent page, first unticking the checkboxes whose value (a scope, on a
    google mailbox's page) is in `untick`; returns the URL the provider sends the person back to."""
    form = parse_page(page.text)
    unticked = set(untick)
    if missing := unticked - {value for _name, value, _ticked in form.checkboxes}:
        raise RuntimeError(f"the consent page has no checkbox for {', '.join(sorted(missing))}")
    data = list(form.inputs.items())
    data += [(name, value) for name, value, ticked in form.checkboxes if ticked and value not in unticked]
    data.append(("allow", "Allow") if allow else ("deny", "Deny"))
    answer = browser.post(page.url, data=data, allow_redirects=False)
    if answer.status_code != 302:
        raise RuntimeError(f"consent answered {answer.status_code}, not a redirect")
    return answer.headers["Location"]


def authorize_as(
    authorize_url: str, email: str, password: str, *, allow: bool = True, untick: Iterable[str] = ()
) -> str:
    """The whole browser part of a round trip as `email`; returns the callback URL with code and state.

    Whatever account the login_hint named, the person may switch to another
    one, as on Google's account chooser: this signs in as `email`.
    """
    browser = requests.Session()
    page = browser.get(authorize_url)
    consent = sign_in(browser, page, email, password)
    if "wants to access your mailbox" not in consent.text:
        raise RuntimeError(f"sign-in as {email} did not reach the consent page")
    return answer_consent(browser, consent, allow=allow, untick=untick)


def sent_back_as(authorize_url: str, email: str, password: str) -> str:
    """The browser part of a round trip the provider ends itself once `email` has signed in, with no
    consent page (a forced authorize answer: a policy, Conditional Access, ...); returns the URL it sends
    the person back to, with the error."""
    browser = requests.Session()
    page = browser.get(authorize_url)
    signed_in = sign_in(browser, page, email, password, follow=False)
    if signed_in.status_code != 302:
        raise RuntimeError(f"sign-in as {email} answered {signed_in.status_code}, not a redirect")
    answer = browser.get(urljoin(page.url, signed_in.headers["Location"]), allow_redirects=False)
    if answer.status_code != 302:
        raise RuntimeError(f"the authorize endpoint answered {answer.status_code}, not a redirect back")
    return answer.headers["Location"]


def callback_query(callback_url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(callback_url).query).items()}
