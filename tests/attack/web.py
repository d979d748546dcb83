"""A person at a browser, as requests: signs in, keeps the CSRF token, reads form errors; staff drive admin."""

import re
from dataclasses import dataclass
from html import unescape
from html.parser import HTMLParser
from urllib.parse import urljoin

import requests

TIMEOUT_SECONDS = 120  # longer than any deadline the instance may hold a request for


@dataclass(frozen=True)
class Person:
    email: str
    password: str


class _Errors(HTMLParser):
    """The text of every <li> inside a <ul class="errorlist">, as Django renders form errors."""

    def __init__(self) -> None:
        super().__init__()
        self.errors: list[str] = []
        self._depth = 0  # open errorlist <ul>s
        self._item: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "ul" and "errorlist" in (dict(attrs).get("class") or ""):
            self._depth += 1
        elif tag == "li" and self._depth:
            self._item = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "li" and self._item is not None:
            self.errors.append(" ".join("".join(self._item).split()))
            self._item = None
        elif tag == "ul" and self._depth:
            self._depth -= 1

    def handle_data(self, data: str) -> None:
        if self._item is not None:
            self._item.append(data)


def form_errors(html: str) -> list[str]:
    parser = _Errors()
    parser.feed(html)
    return parser.errors


def page_messages(html: str) -> list[str]:
    """The flash messages a page shows (django.contrib.messages, as templates/base.html renders them)."""
    found = re.findall(r'<div class="flash [^"]*"[^>]*>(.*?)</div>', html, flags=re.S)
    return [" ".join(unescape(re.sub(r"<[^>]+>", "", text)).split()) for text in found]


class Web:
    """One browser session at the instance."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/") + "/"
        self.session = requests.Session()

    def url(self, path: str) -> str:
        return urljoin(self.base_url, path.lstrip("/"))

    def get(self, path: str, **params: str) -> requests.Response:
        return self.session.get(self.url(path), params=params, allow_redirects=False, timeout=TIMEOUT_SECONDS)

    def post(self, path: str, data: dict[str, object] | list[tuple[str, object]]) -> requests.Response:
        """A form post with the CSRF token, as the page's own form would send it (Referer for HTTPS)."""
        if "csrftoken" not in self.session.cookies:
            self.get("/accounts/login/")
        fields = list(data.items()) if isinstance(data, dict) else list(data)
        fields.append(("csrfmiddlewaretoken", self.session.cookies.get("csrftoken", "")))
        return self.session.post(
            self.url(path),
            data=[(key, str(value)) for key, value in fields],
            headers={"Referer": self.url(path)},
            allow_redirects=False,
            timeout=TIMEOUT_SECONDS,
        )

    def sign_in(self, person: Person) -> requests.Response:
        """allauth's sign-in form; signed in when it redirects away."""
        return self.post("/accounts/login/", {"login": person.email, "password": person.password})


def signed_in(base_url: str, person: Person) -> Web:
    web = Web(base_url)
    answer = web.sign_in(person)
    if answer.status_code != 302:
        errors = form_errors(answer.text) or [f"HTTP {answer.status_code}"]
        raise SystemExit(f"Could not sign in as {person.email}: {'; '.join(errors)}")
    return web


class Admin:
    """Django admin at /admin/, as a staff member clicks through it."""

    def __init__(self, web: Web) -> None:
        self.web = web

    def _path(self, model: str, rest: str = "") -> str:
        return f"/admin/channels_app/{model}/{rest}"

    def find(self, model: str, query: str) -> list[int]:
        """Ids of the rows the changelist's search finds."""
        page = self.web.get(self._path(model), q=query).text
        return sorted({int(pk) for pk in re.findall(rf"/admin/channels_app/{model}/(\d+)/change/", page)})

    def selected(self, model: str, pk: int, field: str) -> str:
        """The value a change page's <select name=field> has selected."""
        page = self.web.get(self._path(model, f"{pk}/change/")).text
        select = re.search(rf'<select name="{field}".*?</select>', page, flags=re.S)
        chosen = select and re.search(r'<option value="([^"]*)"[^>]*selected', select.group(0))
        if not chosen:
            raise LookupError(f"no {field} selected on {model} {pk}")
        return chosen.group(1)

    def add(self, model: str, fields: dict[str, object]) -> requests.Response:
        """The add form as the page sends it: its inlines' management fields too, their rows left empty."""
        page = self.web.get(self._path(model, "add/")).text
        management = dict(
            re.findall(
                r'<input type="hidden" name="([\w-]+-(?:TOTAL|INITIAL|MIN_NUM|MAX_NUM)_FORMS)" value="(\d*)"', page
            )
        )
        return self.web.post(self._path(model, "add/"), {**management, **fields, "_save": "Save"})

    def delete(self, model: str, pk: int) -> requests.Response:
        return self.web.post(self._path(model, f"{pk}/delete/"), {"post": "yes"})

    def action(self, model: str, action: str, pks: list[int]) -> requests.Response:
        fields: list[tuple[str, object]] = [("action", action), ("index", 0)]
        fields += [("_selected_action", pk) for pk in pks]
        return self.web.post(self._path(model), fields)
