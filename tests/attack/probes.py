"""Findings 1-6, 12 and 13 of the review (issue 12): what any signed-in person can send through the IMAP
form, the sign-in page and the headers every page carries. Each row is one request as an attacker sends it."""

import re
import time
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

from tests.attack.report import Row, check, not_run
from tests.attack.web import Person, Web, form_errors
from tests.network_fakes import (
    Behaviour,
    close_at_once,
    dribble_slowly,
    drop_on_login,
    garbage,
    listening,
    record,
    stall,
)

ADD_IMAP = "/settings/personal/channels/add/imap/"
NEUTRAL = re.compile(
    r"^Could not sign in to a mail server at \S+ with these details\. Check the server name, port and security\.$"
)
TOO_MANY = "Too many sign-in attempts"
REJECTED = "The mail server rejected this user name or password."


@dataclass(frozen=True)
class Answer:
    status: int
    errors: list[str]
    seconds: float

    @property
    def neutral(self) -> bool:
        return any(NEUTRAL.match(error) for error in self.errors)

    @property
    def throttled(self) -> bool:
        return self.status == 429 and any(TOO_MANY in error for error in self.errors)

    def __str__(self) -> str:
        shown = "; ".join(self.errors) or "no form error"
        return f"HTTP {self.status} in {self.seconds:.1f} s: {shown}"


def imap_fields(**overrides: object) -> dict[str, object]:
    tag = uuid.uuid4().hex[:8]
    return {
        "address": f"attack-{tag}@example.com",
        "host": "imap.example.com",
        "port": 993,
        "username": f"attack-{tag}@example.com",
        "password": "wrong-password",
        "security": "tls",
        "confirm_unencrypted": "on",
        "inbox_name": "attack",
        "import_days": 7,
        **overrides,
    }


def post_imap(web: Web, **overrides: object) -> Answer:
    started = time.monotonic()
    response = web.post(ADD_IMAP, imap_fields(**overrides))
    return Answer(response.status_code, form_errors(response.text), time.monotonic() - started)


class Tries:
    """The people who send IMAP form posts, each post by whoever has sent fewest: the instance allows each
    person a few tries (IMAP_LOGIN_ATTEMPTS per window), and a probe answered 429 tells an attacker nothing."""

    def __init__(self, webs: list[Web]) -> None:
        self.sent = dict.fromkeys(webs, 0)

    def post(self, **overrides: object) -> Answer:
        web = min(self.sent, key=self.sent.__getitem__)
        self.sent[web] += 1
        return post_imap(web, **overrides)


def _alike(answer: Answer) -> bool:
    """The neutral message, or the limit's 429 (which says nothing about the target either)."""
    return answer.neutral or answer.throttled


# Addresses no customer's mail server has; each answered before any connection is tried.
POLICY_PROBES = (
    ("169.254.169.254", 993, "cloud metadata (link-local)"),
    ("10.0.0.1", 143, "private network"),
    ("192.168.0.1", 993, "private network"),
    ("fd00::1", 993, "IPv6 unique local"),
    ("::ffff:169.254.169.254", 993, "IPv4-mapped IPv6"),
    ("0x7f000001", 22, "loopback in hex, SSH port"),
    ("127.1", 6379, "short loopback, Redis port"),
)
# What a port can answer, from our own listener on --listen-port: none of it may show through.
LISTENER_PROBES: tuple[tuple[Behaviour | None, str, str], ...] = (
    (None, "none", "closed port"),
    (stall, "none", "silent listener"),
    (garbage, "none", "SSH banner"),
    (close_at_once, "none", "hangs up at once"),
    (record, "tls", "plain text where TLS was asked for"),
)


def _listener(behaviour: Behaviour | None, port: int) -> AbstractContextManager[object]:
    return listening(behaviour, port) if behaviour else nullcontext()


def port_scan(tries: Tries, listen_port: int | None) -> Iterator[Row]:
    finding = "1 probing internal networks"
    expected = "one neutral message (or 429 once the tries are used up); nothing names the cause"
    answers: list[Answer] = []
    for host, port, what in POLICY_PROBES:
        answer = tries.post(host=host, port=port, security="tls")
        answers.append(answer)
        yield check(finding, f"IMAP form: {host}:{port} ({what})", expected, str(answer), _alike(answer))
    if listen_port is None:
        yield not_run(finding, "IMAP form: a listener per answer type", expected, "give --listen-port")
    else:
        for behaviour, security, what in LISTENER_PROBES:
            with _listener(behaviour, listen_port):
                answer = tries.post(host="127.0.0.1", port=listen_port, security=security)
            answers.append(answer)
            request = f"IMAP form: 127.0.0.1:{listen_port}, {what}"
            yield check(finding, request, expected, str(answer), _alike(answer))
    texts = {NEUTRAL.sub("", error) for answer in answers for error in answer.errors if not answer.throttled}
    yield check(finding, "all of the above", "a single text", f"{len(texts)} different text(s)", len(texts) <= 1)


def guessing(web: Web, second: Web, account: tuple[str, int, str, str] | None) -> Iterator[Row]:
    """25 wrong passwords then the right one, as the review did; then someone else at the same account."""
    finding = "2 password guessing"
    if account is None:
        host, port, username, right = "mail.invalid", 993, f"victim-{uuid.uuid4().hex[:8]}@example.com", ""
    else:
        host, port, username, right = account
    fields = {"host": host, "port": port, "username": username, "address": username, "security": "none"}
    answers = [post_imap(web, **fields, password=f"guess-{n}") for n in range(25)]
    stopped_at = next((n for n, answer in enumerate(answers, 1) if answer.throttled), None)
    yield check(
        finding,
        f"IMAP form: 25 wrong passwords for {username} at {host}:{port}",
        "429 Too many sign-in attempts after a few tries",
        f"first 429 at try {stopped_at}" if stopped_at else f"never stopped: last {answers[-1]}",
        stopped_at is not None,
    )
    if right:
        answer = post_imap(web, **fields, password=right)
        yield check(finding, "then the right password", "429: the right one waits too", str(answer), answer.throttled)
    answer = post_imap(second, **fields, password=right or "guess")
    yield check(finding, "another person, same account", "429: counted per account", str(answer), answer.throttled)


def sign_in_guessing(base_url: str) -> Iterator[Row]:
    finding = "2 sign-in guessing"
    target = f"attack-{uuid.uuid4().hex[:8]}@example.com"
    answers = []
    for n in range(6):
        web = Web(base_url)  # a fresh session each time, and a made-up client address: neither resets the count
        web.session.headers["X-Forwarded-For"] = f"203.0.113.{n + 1}"
        answers.append(web.sign_in(Person(target, f"guess-{n}")))
    last = " ".join(form_errors(answers[-1].text)) or f"HTTP {answers[-1].status_code}"
    yield check(
        finding,
        f"sign-in page: 6 wrong passwords for {target}, each from a new session and X-Forwarded-For",
        "the 6th: Too many failed login attempts",
        last,
        "Too many failed login attempts" in last,
    )


def _at_listener(
    finding: str, request: str, expected: str, listener: tuple[Tries, int | None, Behaviour]
) -> Answer | Row:
    """The answer of one IMAP form post at our listener, or the row saying why it was not sent or not answered."""
    tries, port, behaviour = listener
    if port is None:
        return not_run(finding, request, expected, "give --listen-port")
    with listening(behaviour, port):
        answer = tries.post(host="127.0.0.1", port=port, security="none")
    if answer.throttled:
        return not_run(finding, request, expected, f"the instance's limit on tries answered first: {answer}")
    return answer


def slow_server(tries: Tries, listen_port: int | None, deadline: int) -> Iterator[Row]:
    finding = "3 no overall deadline"
    expected = f"the neutral message within the deadline ({deadline} s) and a few seconds"
    request = "IMAP form: a server that sends a byte of its greeting every second"
    answer = _at_listener(finding, request, expected, (tries, listen_port, dribble_slowly))
    if isinstance(answer, Row):
        yield answer
        return
    yield check(finding, request, expected, str(answer), answer.neutral and answer.seconds <= deadline + 5)


BAD_HOSTS = (
    ("a" * 64 + ".example.com", "64-character label"),
    ("x" * 300, "300 characters"),
    ("exa mple.com", "a space"),
    ("a..example.com", "an empty label"),
    ("[::1", "half an IPv6 literal"),
    ("-dash.example.com", "a label starting with a dash"),
)


def bad_hosts(web: Web) -> Iterator[Row]:
    for host, what in BAD_HOSTS:
        answer = post_imap(web, host=host)
        held = answer.status == 200 and bool(answer.errors) and not answer.neutral
        yield check("4 unclassified errors", f"IMAP form: host with {what}", "200 with a form error", str(answer), held)
    yield not_run(
        "4 passwords in error reports",
        "a crash while a password is being checked",
        "the password masked in the report",
        "not reachable from outside; tests/test_views_connect.py crashes the view on purpose and reads the report",
    )


def injection(web: Web) -> Iterator[Row]:
    for field in ("username", "password", "host", "address"):
        answer = post_imap(web, **{field: "victim\r\nA1 LOGOUT"})
        held = answer.status == 200 and bool(answer.errors) and not answer.neutral
        yield check(
            "5 CR/LF injection", f"IMAP form: CR LF in the {field}", "a form error, nothing sent", str(answer), held
        )


def dropped_login(tries: Tries, listen_port: int | None) -> Iterator[Row]:
    finding = "6 dropped login"
    request = "IMAP form: a server that hangs up when LOGIN comes"
    expected = "the neutral message, not “rejected this password”"
    answer = _at_listener(finding, request, expected, (tries, listen_port, drop_on_login))
    if isinstance(answer, Row):
        yield answer
        return
    yield check(finding, request, expected, str(answer), answer.neutral and REJECTED not in answer.errors)


def email_management(web: Web) -> Iterator[Row]:
    answer = web.post("/accounts/email/", {"email": "ceo@example.com", "action_add": ""})
    page = web.get("/accounts/email/").text
    yield check(
        "12 email changes",
        "POST /accounts/email/ adding ceo@example.com",
        "refused (405); the page says staff change addresses",
        f"HTTP {answer.status_code}; ceo@ on the page: {'ceo@example.com' in page}",
        answer.status_code == 405 and "ceo@example.com" not in page,
    )


def headers_and_choices(web: Web) -> Iterator[Row]:
    response = web.get("/accounts/login/")
    policy = response.headers.get("Content-Security-Policy", "")
    script_src = next((part for part in policy.split(";") if part.strip().startswith("script-src")), "")
    yield check(
        "13 CSP",
        "GET /accounts/login/",
        "Content-Security-Policy with script-src and no 'unsafe-inline' for scripts",
        policy or "no header",
        bool(script_src) and "unsafe-inline" not in script_src,
    )
    frame = response.headers.get("X-Frame-Options", "")
    yield check("13 framing", "GET /accounts/login/", "X-Frame-Options: DENY", frame or "no header", frame == "DENY")
    if web.base_url.startswith("https:"):
        hsts = response.headers.get("Strict-Transport-Security", "")
        yield check("13 HSTS", "GET /accounts/login/", "Strict-Transport-Security max-age", hsts, "max-age" in hsts)
    answer = post_imap(web, security="none", confirm_unencrypted="")
    held = any("without encryption" in error for error in answer.errors)
    yield check("13 plain IMAP", "IMAP form: security none, not confirmed", "a form error", str(answer), held)
    offered = 'value="starttls"' in web.get(ADD_IMAP).text
    yield check("13 STARTTLS", f"GET {ADD_IMAP}", "STARTTLS offered", f"offered: {offered}", offered)
    yield not_run(
        "13 debug page, logs, SITE_URL",
        "REDIS_URL on the debug page; code= in 4xx log lines; SITE_URL unset",
        "masked; redacted; refused at start",
        "not reachable from outside; tests/test_redaction.py and tests/test_settings.py",
    )
