"""Findings 7-11 of the review (issue 12): what needs a finished consent at the provider and staff's hand
in Django admin. Runs on a shared channel of Local mail (the demo's sales@acme.test), which it leaves
active: it marks the channel for reauthorization and reauthorizes it a few times, takes a workspace admin
out of its workspace and back, disconnects and reconnects it, and sends support a few messages."""

import re
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from html import unescape
from urllib.parse import urlsplit

import requests

from localprovider import browser, control
from tests.attack.report import Row, check, not_run
from tests.attack.web import TIMEOUT_SECONDS, Admin, Web, page_messages

RACERS = 4
SUPPORT_POSTS = 20
DIAGNOSTICS_HEADING = "Diagnostics gathered by Shared Inbox (not written by the person):"


@dataclass
class Scene:
    staff: Admin
    admin: Web  # company admin
    workspace_admin: Web  # an admin of the channel's workspace, alerted about it
    workspace_admin_email: str
    instance: control.Instance
    address: str
    mailbox_password: str
    channel_id: int = 0

    def channel_path(self, rest: str = "") -> str:
        return f"/settings/channels/{self.channel_id}/{rest}"


def consent(web: Web, start_path: str, data: dict[str, object], address: str, password: str) -> str:
    """Starts a round trip at our app, signs in and consents at Local mail; the callback's query string."""
    start = web.post(start_path, data)
    if start.status_code != 302:
        raise RuntimeError(f"{start_path} answered HTTP {start.status_code}, not a redirect to the provider")
    return urlsplit(browser.authorize_as(start.headers["Location"], address, password)).query


def reauthorize(scene: Scene) -> list[str]:
    """A plain reauthorization; the messages the person is shown."""
    query = consent(scene.admin, scene.channel_path("reauthorize/"), {}, scene.address, scene.mailbox_password)
    back = scene.admin.get(f"/oauth/callback/?{query}")
    return page_messages(scene.admin.get(back.headers.get("Location", "/")).text)


def mark(scene: Scene) -> None:
    scene.staff.action("channel", "mark_for_reauthorization", [scene.channel_id])


def popup_shows_channel(scene: Scene) -> bool:
    return scene.channel_path("settings/") in scene.workspace_admin.get("/notifications/popup/").text


def popups_outlive_access(scene: Scene) -> Iterator[Row]:
    finding = "8 pop-ups outlive access"
    mark(scene)
    alerted = popup_shows_channel(scene)
    inbox = int(scene.staff.selected("channel", scene.channel_id, "inbox"))
    workspace = scene.staff.selected("inbox", inbox, "workspace")
    memberships = [
        pk
        for pk in scene.staff.find("workspacemembership", scene.workspace_admin_email)
        if scene.staff.selected("workspacemembership", pk, "workspace") == workspace
    ]
    if not alerted or not memberships:
        yield not_run(finding, "", "", f"the workspace admin must be alerted about {scene.address} first")
        return
    pk = memberships[0]
    kept = {field: scene.staff.selected("workspacemembership", pk, field) for field in ("user", "role")}
    scene.staff.delete("workspacemembership", pk)
    try:
        still = popup_shows_channel(scene)
        page = scene.workspace_admin.get(scene.channel_path("settings/")).status_code
    finally:
        scene.staff.add("workspacemembership", {**kept, "workspace": workspace})
    yield check(
        finding,
        f"staff remove the alerted workspace admin from {scene.address}'s workspace; their pop-up, their GET of it",
        "no pop-up for it; 404",
        f"pop-up still there: {still}; HTTP {page}",
        not still and page == 404,
    )


def _callback(session_cookies: requests.cookies.RequestsCookieJar, url: str) -> tuple[int, list[str]]:
    with requests.Session() as session:
        session.cookies.update(session_cookies)
        answer = session.get(url, allow_redirects=False, timeout=TIMEOUT_SECONDS)
        if answer.status_code != 302:
            return answer.status_code, []
        page = session.get(requests.compat.urljoin(url, answer.headers["Location"]), timeout=TIMEOUT_SECONDS)
        return answer.status_code, page_messages(page.text)


def replayed_state(scene: Scene) -> Iterator[Row]:
    query = consent(scene.admin, scene.channel_path("reauthorize/"), {}, scene.address, scene.mailbox_password)
    url = scene.admin.url(f"/oauth/callback/?{query}")
    with ThreadPoolExecutor(RACERS) as pool:
        answers = list(pool.map(lambda _: _callback(scene.admin.session.cookies, url), range(RACERS)))
    past = [messages for status, messages in answers if status != 403]
    reauthorized = sum(any(m.startswith("Reauthorized") for m in messages) for messages in past)
    yield check(
        "7 OAuth state replay",
        f"{RACERS} callbacks at once with one state and code",
        "one past the state check (reauthorized), the rest 403",
        f"{len(past)} past the state check, {reauthorized} reauthorized; HTTP {sorted(s for s, _ in answers)}",
        len(past) == 1 and reauthorized == 1,
    )


def support_offered(scene: Scene, channel_id: int) -> bool | None:
    """Whether the channel's Overview offers Contact support; None when the company admin cannot see it."""
    overview = scene.admin.get(f"/settings/channels/{channel_id}/")
    return f"/settings/channels/{channel_id}/support/" in overview.text if overview.status_code == 200 else None


def support_form(scene: Scene) -> Iterator[Row]:
    others = [pk for pk in scene.staff.find("channel", "") if pk != scene.channel_id]
    closed = next((pk for pk in others if support_offered(scene, pk) is False), None)
    if closed is None:
        yield not_run("9 support form", "", "", "every other channel the company admin sees offers Contact support")
    else:
        answer = scene.admin.post(f"/settings/channels/{closed}/support/", {"message": "Relay this for me."})
        yield check(
            "9 support form",
            "POST Contact support for a channel whose Overview does not offer it",
            "403",
            f"HTTP {answer.status_code}",
            answer.status_code == 403,
        )
    for _ in range(6):  # the instance offers it after REPEATED_REAUTH_THRESHOLD incidents (3 by default)
        if support_offered(scene, scene.channel_id):
            break
        mark(scene)
        reauthorize(scene)
    forged = f"Please look.\n{DIAGNOSTICS_HEADING}\nStatus: active, all fine, close this request."
    answers = [scene.admin.post(scene.channel_path("support/"), {"message": forged}) for _ in range(SUPPORT_POSTS)]
    sent = sum(answer.status_code == 302 for answer in answers)
    first_429 = next((n for n, answer in enumerate(answers, 1) if answer.status_code == 429), None)
    yield check(
        "9 support form",
        f"{SUPPORT_POSTS} Contact support posts in a row",
        "a few sent, then 429",
        f"{sent} sent; first 429 at post {first_429}",
        first_429 is not None and sent < SUPPORT_POSTS,
    )
    newest = max(scene.staff.find("supportrequest", scene.address), default=None)
    text = ""
    if newest is not None:
        change = scene.staff.web.get(f"/admin/channels_app/supportrequest/{newest}/change/").text
        shown = re.search(r'<pre class="support-request">(.*?)</pre>', change, flags=re.S)
        text = unescape(shown.group(1)) if shown else ""
    headings = [line for line in text.splitlines() if line == DIAGNOSTICS_HEADING]
    yield check(
        "9 support form",
        "a message holding a forged “Diagnostics gathered by Shared Inbox” block",
        "quoted as the person's words; one real heading",
        f"forged heading quoted: {('> ' + DIAGNOSTICS_HEADING) in text}; unquoted headings: {len(headings)}",
        ("> " + DIAGNOSTICS_HEADING) in text and len(headings) == 1,
    )


def disconnect_gives_grant_back(scene: Scene) -> Iterator[Row]:
    before = control.token_state(scene.instance, scene.address)
    scene.admin.post(scene.channel_path("disconnect/"), {})
    after = control.token_state(scene.instance, scene.address)
    reauthorize(scene)
    held_before, held_after = control.newest_still_live(before), control.newest_still_live(before, after)
    yield check(
        "10 tokens outlive us",
        f"Disconnect {scene.address}; then ask Local mail whether the tokens our app held still work",
        "the refresh and access tokens it held dead",
        f"before: {held_before}; after: {held_after}",
        all(held_before.values()) and not any(held_after.values()),
    )


def vanished_workspace(scene: Scene) -> Iterator[Row]:
    inbox = int(scene.staff.selected("channel", scene.channel_id, "inbox"))
    company = scene.staff.selected("workspace", int(scene.staff.selected("inbox", inbox, "workspace")), "company")
    name = f"attack-{uuid.uuid4().hex[:8]}"
    scene.staff.add("workspace", {"company": company, "name": name})
    workspace = scene.staff.find("workspace", name)[0]
    address = f"{name}@acme.test"
    control.create_mailbox(scene.instance, address, "attack-password-1")
    data = {"provider": "local", "workspace": workspace, "inbox_name": name, "import_days": 7}
    query = consent(scene.admin, "/settings/company/channels/add/", data, address, "attack-password-1")
    scene.staff.delete("workspace", workspace)
    back = scene.admin.get(f"/oauth/callback/?{query}")
    messages = page_messages(scene.admin.get(back.headers.get("Location", "/")).text)
    saved = scene.staff.find("channel", address)
    yield check(
        "11 shared connect lands personal",
        "start connecting a shared channel to a workspace; staff delete the workspace; finish the consent",
        "refused: the workspace is gone; no channel",
        f"{'; '.join(messages) or 'no message'}; channels saved: {len(saved)}",
        not saved and any("workspace" in m and "gone" in m for m in messages),
    )


def run(scene: Scene) -> Iterator[Row]:
    found = scene.staff.find("channel", scene.address)
    if not found:
        yield not_run("7-11", "", "", f"no channel {scene.address} on the instance")
        return
    scene.channel_id = found[0]
    yield from popups_outlive_access(scene)
    yield from replayed_state(scene)  # also reauthorizes the channel the pop-up test marked
    yield from support_form(scene)
    yield from disconnect_gives_grant_back(scene)
    yield from vanished_workspace(scene)
