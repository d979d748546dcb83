"""Python API of the local provider, for tests, `make run` and the demo.

`start(instance)` brings up the OAuth server (a Django process with localprovider.settings) and Dovecot;
the other functions manage mailbox accounts, mail and tokens. Nothing here imports Django, so the caller
may have the main app's Django settings loaded: database changes go to the server's admin endpoint over
loopback while it runs, else to the `localprovider` management command in a subprocess.
"""

import json
import os
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import asdict
from datetime import datetime
from typing import Any

from localprovider import dovecot, gmail_state, graph, maildir, organisation_admin, personas, pubsub
from localprovider.imap_front import process as imap_front
from localprovider.instance import (
    REPO_DIR,
    Instance,
    LocalProviderError,
    LocalProviderUnavailable,
    instance_from_env,
)
from localprovider.maildir import make_message
from localprovider.organisation_admin import (
    add_app_secret,
    add_service_account_key,
    create_service_account,
    delete_service_account_key,
    entra_token_url,
    grant_admin_consent,
    grant_delegation,
    new_service_principal,
    register_app,
    remove_app_secret,
    remove_service_principal,
    withdraw_admin_consent,
    withdraw_delegation,
)
from localprovider.personas import PERSONAS, MailboxState, Persona
from localprovider.processes import log_tail, pid_alive, port_accepts, read_pid, terminate, wait_until

# The service account Local mail's push subscriptions sign as by default (the main app's stand-in expects it).
LOCAL_PUSH_SERVICE_ACCOUNT = "gmail-push@local-mail.iam.gserviceaccount.test"

# Where Gmail shows every message once, whatever its labels (special use \All in dovecot.conf).
GMAIL_ALL_MAIL = "[Gmail]/All Mail"

AnswerSurface = personas.AnswerSurface

__all__ = [
    "Instance",
    "LocalProviderError",
    "LocalProviderUnavailable",
    "MailboxState",
    "add_app_secret",
    "add_mailbox_permission",
    "add_service_account_key",
    "create_service_account",
    "create_shared_mailbox",
    "delete_service_account_key",
    "entra_token_url",
    "expire_client_tokens",
    "grant_admin_consent",
    "grant_delegation",
    "new_service_principal",
    "register_app",
    "remove_app_secret",
    "remove_mailbox_permission",
    "remove_service_principal",
    "withdraw_admin_consent",
    "withdraw_delegation",
    "append_messages",
    "clear_answers",
    "create_mailbox",
    "create_mailboxes",
    "create_push_subscription",
    "delete_push_subscriptions",
    "forget_history",
    "gmail_watch",
    "issue_tokens",
    "expire_tokens",
    "force_answer",
    "graph_lifecycle",
    "graph_subscriptions",
    "http_is_running",
    "imap_is_running",
    "instance_from_env",
    "is_running",
    "mailbox_state",
    "make_message",
    "move_messages",
    "recorded_answers",
    "register_client",
    "renumber_mailbox",
    "revoke_tokens",
    "set_password",
    "set_delegate",
    "set_persona",
    "start",
    "start_http",
    "start_imap",
    "status",
    "stop",
    "stop_http",
    "stop_imap",
]


def _django_env(instance: Instance, **extra: str) -> dict[str, str]:
    env = {**os.environ, **instance.environ(), **extra}
    env["DJANGO_SETTINGS_MODULE"] = "localprovider.settings"  # never the main app's
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_DIR), os.environ.get("PYTHONPATH", "")) if p)
    return env


def _prepare_dir(instance: Instance) -> None:
    # 0711: Dovecot (nobody) must reach dovecot/ inside, but not read the token database or secrets.
    instance.dir.mkdir(parents=True, exist_ok=True)
    instance.dir.chmod(0o711)


def _manage(instance: Instance, *args: str, stdin: str | None = None, **extra_env: str) -> str:
    """Runs `django-admin localprovider ARGS` against the instance's database (~0.5 s)."""
    _prepare_dir(instance)
    result = subprocess.run(  # noqa: S603 - our own interpreter and command, no shell
        [sys.executable, "-m", "django", "localprovider", *args],
        env=_django_env(instance, **extra_env),
        cwd=REPO_DIR,
        capture_output=True,
        text=True,
        input=stdin,
    )
    if result.returncode != 0:
        raise LocalProviderError(f"localprovider {args[-1]} failed: {result.stderr.strip()[-2000:]}")
    return result.stdout.strip()


# Loopback only, never through an http_proxy of the environment: the admin calls carry secrets.
_loopback = urllib.request.build_opener(urllib.request.ProxyHandler({}))
ADMIN_TIMEOUT_SECONDS = 300  # set-users and issue-tokens take thousands of accounts at once


def _account_action(instance: Instance, action: str, **payload: object) -> Any:
    """Runs an action of `localprovider.accounts` and returns its answer: at the admin endpoint while the
    OAuth server runs (~20 ms), else in a subprocess (~0.6 s, mostly Django starting). The payload (with
    any password) travels in the request body or on stdin, never in argv."""
    health = _our_health(instance)
    if health is not None and health.get("control"):
        return _post_action(instance, action, payload)
    return json.loads(_manage(instance, "call", action, stdin=json.dumps(payload)))["result"]


def _post_action(instance: Instance, action: str, payload: dict[str, object]) -> Any:
    request = urllib.request.Request(  # noqa: S310 - our own loopback URL
        f"{instance.base_url}/_control/{action}",
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {instance.admin_secret()}"},
        method="POST",
    )
    try:
        with _loopback.open(request, timeout=ADMIN_TIMEOUT_SECONDS) as response:
            return json.loads(response.read())["result"]
    except urllib.error.HTTPError as e:
        reason = _error_of(e)
        if e.code == 403:
            reason += f" (the server of {instance.dir} does not know this admin secret: restart it)"
        raise LocalProviderError(f"localprovider {action} failed: {reason}") from None
    except (OSError, ValueError, KeyError) as e:
        raise LocalProviderError(
            f"localprovider {action} failed: no usable answer from {instance.base_url}: {e}"
        ) from None


def _error_of(answer: urllib.error.HTTPError) -> str:
    try:
        return str(json.loads(answer.read())["error"])
    except (OSError, ValueError, KeyError, TypeError):
        return f"HTTP {answer.code}"


def _our_health(instance: Instance) -> dict[str, object] | None:
    """What this instance's OAuth server answers at /healthz, or None if it does not run."""
    try:
        with _loopback.open(f"{instance.base_url}/healthz", timeout=2) as response:
            health = json.loads(response.read())
    except (OSError, ValueError):
        return None
    return health if isinstance(health, dict) and health.get("dir") == str(instance.dir) else None


def http_is_running(instance: Instance) -> bool:
    return _our_health(instance) is not None


def start_http(instance: Instance) -> None:
    """Starts the OAuth server detached (log in <dir>/http.log) unless it already answers.

    Also migrates its database and (re)creates the two OAuth applications, so a changed client
    secret takes effect.
    """
    if http_is_running(instance):
        return
    if port_accepts(instance.host, instance.http_port):
        raise LocalProviderError(f"{instance.base_url} is taken by something else than this instance ({instance.dir})")
    _manage(
        instance,
        "setup",
        LOCAL_PROVIDER_CLIENT_SECRET=instance.client_secret,
        LOCAL_PROVIDER_INTROSPECTION_SECRET=instance.introspection_secret(),
    )
    (instance.dir / "provider.sqlite3").chmod(0o600)  # holds live tokens
    with open(instance.http_log, "ab") as log:
        # runserver without autoreload is a threaded WSGI server; --skip-checks saves start-up time.
        process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
            [sys.executable, "-m", "django", "runserver", f"{instance.host}:{instance.http_port}"]
            + ["--noreload", "--skip-checks"],
            env=_django_env(instance),
            cwd=REPO_DIR,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # outlives the CLI that started it, and its Ctrl-C
        )
    (instance.dir / "http.pid").write_text(f"{process.pid}\n")
    if not wait_until(lambda: process.poll() is None and http_is_running(instance), timeout=20, interval=0.1):
        terminate(process.pid)
        (instance.dir / "http.pid").unlink(missing_ok=True)
        raise LocalProviderError(f"the OAuth server did not come up:\n{log_tail(instance.http_log)}")


def stop_http(instance: Instance) -> None:
    """Stops the OAuth server ("Google is down"); Dovecot then answers bearer logins with [UNAVAILABLE]."""
    pid = read_pid(instance.dir / "http.pid")
    if pid is not None and pid_alive(pid):
        terminate(pid)
    (instance.dir / "http.pid").unlink(missing_ok=True)
    if not wait_until(lambda: not port_accepts(instance.host, instance.http_port), timeout=5):
        raise LocalProviderError(f"{instance.base_url} still answers after stopping the OAuth server")


def start_imap(instance: Instance) -> None:
    """Starts Dovecot on its internal port, then the IMAP front on the IMAP port (each unless it runs).

    A front that does not come up takes Dovecot down with it: the IMAP side runs whole or not at all.
    """
    dovecot.start(instance)
    try:
        imap_front.start(instance)
    except BaseException:  # an interrupt too
        dovecot.stop(instance)
        raise


def stop_imap(instance: Instance) -> None:
    """Stops the IMAP front and Dovecot ("the IMAP server is down": connections are refused)."""
    imap_front.stop(instance)
    dovecot.stop(instance)


def imap_is_running(instance: Instance) -> bool:
    """Dovecot and the IMAP front before it both answer."""
    return dovecot.is_running(instance) and imap_front.is_running(instance)


def start(instance: Instance | None = None) -> Instance:
    """Starts both servers (idempotent: what already runs healthy is left alone); returns the instance.

    A start that fails stops the OAuth server if this call started it (start_imap takes its own parts
    down), so nothing of a failed start outlives it.
    """
    instance = instance or instance_from_env()
    dovecot.check_can_run()  # before anything else, so an unusable machine fails fast and clearly
    http_was_running = http_is_running(instance)
    start_http(instance)
    try:
        start_imap(instance)
    except BaseException as failure:
        if not http_was_running:
            try:
                stop_http(instance)
            except LocalProviderError as e:
                failure.add_note(f"and stopping the OAuth server it had started failed too: {e}")
        raise
    return instance


def stop(instance: Instance | None = None) -> None:
    """Stops both servers; the instance's data (accounts, tokens, mail) stays for the next start."""
    instance = instance or instance_from_env()
    stop_imap(instance)
    stop_http(instance)


def is_running(instance: Instance) -> bool:
    """The OAuth server of this instance, its Dovecot and its IMAP front all answer."""
    return http_is_running(instance) and imap_is_running(instance)


def status(instance: Instance) -> dict[str, bool]:
    return {"http": http_is_running(instance), "imap": imap_is_running(instance)}


def _normalise(email: str) -> str:
    # Dovecot lowercases login names (auth_username_format = %Lu), so accounts are stored lowercased.
    return email.strip().lower()


def create_mailbox(instance: Instance, email: str, password: str, persona: Persona = "plain") -> str:
    """Creates a mailbox account imitating `persona` (or resets an existing one to it, with a new password
    and nothing forced): the sign-in page and password IMAP login both accept `password`. Returns the
    normalised address."""
    email = _normalise(email)
    _check_persona(persona)
    _store_password(instance, email, password)
    _write_state(instance, email, **asdict(MailboxState(persona=persona)))
    if persona == "google":
        maildir.ensure_folder(instance, email, GMAIL_ALL_MAIL)
    return email


def _store_password(instance: Instance, email: str, password: str) -> None:
    dovecot.set_password(instance, email, password)
    _account_action(instance, "set-user", email=email, password=password)


def _check_persona(persona: str) -> None:
    if persona not in PERSONAS:
        raise LocalProviderError(f"unknown persona {persona!r}; one of {', '.join(PERSONAS)}")


def _write_state(instance: Instance, email: str, **changes: Any) -> MailboxState:
    try:
        return personas.write_state(instance.dir, email, **changes)
    except ValueError as e:
        raise LocalProviderError(str(e)) from None


def _existing(instance: Instance, email: str) -> str:
    """The normalised address of a mailbox that exists (its IMAP password file does)."""
    email = _normalise(email)
    if "/" in email or email.startswith(".") or not (instance.dovecot_dir / "passdb" / email).is_file():
        raise LocalProviderError(f"no mailbox {email} in {instance.dir}")
    return email


def set_persona(instance: Instance, email: str, persona: Persona, email_claim: str | None = None) -> MailboxState:
    """Makes a mailbox imitate `persona` from its next request on. Forced answers are cleared (their names
    belong to one persona). `email_claim`: the Microsoft ID token's `email`, when it should differ from
    the address (None: the address)."""
    _check_persona(persona)
    return _write_state(
        instance,
        _existing(instance, email),
        persona=persona,
        email_claim=email_claim,
        **personas.NOTHING_FORCED,
    )


def force_answer(instance: Instance, email: str, surface: AnswerSurface, name: str | None) -> MailboxState:
    """Makes the mailbox answer on `surface` ("token": its code exchanges and refreshes; "authorize": the
    authorize endpoint, once the person has signed in, sends them back with a recorded error; "imap": its
    logins; "graph": Graph subscription create, renew and reauthorize; "watch": Gmail's users.watch and
    users.stop) with the persona's recorded answer `name` until cleared (name None)."""
    if surface not in personas.ANSWER_SURFACES:
        raise LocalProviderError(f"no surface {surface!r}; one of {', '.join(personas.ANSWER_SURFACES)}")
    return _write_state(instance, _existing(instance, email), **{f"{surface}_answer": name})


def clear_answers(instance: Instance, email: str) -> MailboxState:
    """The mailbox answers normally again on every surface."""
    return _write_state(instance, _existing(instance, email), **personas.NOTHING_FORCED)


def mailbox_state(instance: Instance, email: str) -> MailboxState:
    """A mailbox's persona and forced answers."""
    return personas.read_state(instance.dir, _normalise(email))


def recorded_answers(persona: Persona, surface: AnswerSurface) -> dict[str, str]:
    """The answers `force_answer` accepts for a persona on a surface: {name: public source}."""
    _check_persona(persona)
    return {name: str(entry.get("source", "")) for name, entry in personas.recorded(persona, surface).items()}


def create_mailboxes(instance: Instance, accounts: Iterable[tuple[str, str]]) -> list[str]:
    """Many mailboxes in one go (one subprocess instead of one each): for benchmarks and large tests."""
    normalised = [(_normalise(email), password) for email, password in accounts]
    for email, password in normalised:
        dovecot.set_password(instance, email, password)
    _account_action(instance, "set-users", accounts=normalised)
    return [email for email, _ in normalised]


def issue_tokens(instance: Instance, emails: Iterable[str]) -> dict[str, dict[str, object]]:
    """Tokens for many accounts as if each had gone through consent: {email: {access_token, refresh_token,
    expires_in}}. The pages themselves are exercised by the tests that drive them."""
    issued: dict[str, dict[str, object]] = _account_action(
        instance, "issue-tokens", emails=[_normalise(e) for e in emails]
    )
    return issued


def set_password(instance: Instance, email: str, password: str) -> None:
    """Changes an account's password at both the sign-in page and IMAP; its persona stays."""
    _store_password(instance, _normalise(email), password)


def append_messages(
    instance: Instance, email: str, messages: Iterable[bytes], folder: str = "INBOX", arrived: datetime | None = None
) -> int:
    """Delivers messages into a folder of `email` (Maildir files, visible at the next SELECT/NOOP);
    `arrived` sets their arrival time (IMAP's INTERNALDATE). A google-persona mailbox also gets a copy
    of each in "[Gmail]/All Mail", as Gmail shows every message there whatever its labels."""
    email = _normalise(email)
    messages = list(messages)
    count = maildir.deliver(instance, email, messages, folder, arrived)
    persona = personas.read_state(instance.dir, email).persona
    if persona == "google" and folder != GMAIL_ALL_MAIL:
        maildir.deliver(instance, email, messages, GMAIL_ALL_MAIL, arrived)
        _announce(instance, email, count)
    if persona == "microsoft" and folder == "INBOX":
        # Graph notifies the subscriptions to the Inbox of each new message (graph.py); posted from here,
        # once the files are in place, so the subscriber finds the mail when it looks.
        graph.notify_created(instance.dir, email, count)
    return count


def graph_lifecycle(instance: Instance, email: str, event: str) -> list[int]:
    """Posts a Graph lifecycle event (reauthorizationRequired, subscriptionRemoved, missed) for each live
    subscription of `email`, as Microsoft does; returns the statuses the subscriber answered."""
    try:
        return graph.post_lifecycle(instance.dir, _normalise(email), event)
    except ValueError as e:
        raise LocalProviderError(f"localprovider graph-event failed: {e}") from None


def graph_subscriptions(instance: Instance, email: str) -> list[graph.Subscription]:
    """The live Graph subscriptions of `email`."""
    return graph.of_mailbox(instance.dir, _normalise(email))


def _announce(instance: Instance, email: str, count: int) -> None:
    """Gmail's side of a delivery: a history record, and a Pub/Sub push while the mailbox is watched
    (https://developers.google.com/workspace/gmail/api/guides/push#receiving_notifications)."""
    history_id, watch = gmail_state.record_delivery(instance.dir, email, count, now_ms=int(time.time() * 1000))
    if watch is not None:
        pubsub.publish(instance, watch["topic"], {"emailAddress": email, "historyId": history_id})


def create_push_subscription(
    instance: Instance,
    topic: str,
    endpoint: str,
    *,
    audience: str | None = None,
    service_account: str = LOCAL_PUSH_SERVICE_ACCOUNT,
    name: str | None = None,
    emulator: str | None = None,
) -> None:
    """A Pub/Sub topic (`projects/P/topics/T`) and a push subscription on it to `endpoint`, whose pushes carry
    an OIDC token for `audience` (None: the endpoint URL, as at Pub/Sub) as `service_account`; with
    `emulator` (its base URL), pushes go through a real topic of the Pub/Sub emulator instead."""
    project = topic.split("/")[1] if topic.startswith("projects/") else "local-mail"
    pubsub.create_push_subscription(
        instance,
        name=name or f"projects/{project}/subscriptions/{topic.rsplit('/', 1)[-1]}-push",
        topic=topic,
        endpoint=endpoint,
        audience=audience,
        service_account=service_account,
        emulator=emulator,
    )


def delete_push_subscriptions(instance: Instance, topic: str) -> None:
    """Nobody receives the topic's messages any more (a subscription deleted by mistake)."""
    pubsub.delete_subscriptions(instance, topic)


def forget_history(instance: Instance, email: str) -> int:
    """Gmail no longer keeps the mailbox's history before now: history.list from any earlier id answers
    404. Returns the new current history id."""
    return gmail_state.forget_history(instance.dir, _existing(instance, email))


def gmail_watch(instance: Instance, email: str) -> dict[str, Any] | None:
    """The mailbox's watch ({topic, label_ids, expiration_ms}) while it lasts, else None."""
    return gmail_state.live_watch(gmail_state.read(instance.dir, _normalise(email)), int(time.time() * 1000))


def move_messages(instance: Instance, email: str, source: str, dest: str, *, matching: bytes | None = None) -> int:
    """Moves messages of `email` from folder `source` to `dest` (all, or those containing `matching`), as
    a filter, a rule or a person does: same bytes, new UIDs in `dest`. Returns how many moved."""
    return maildir.move(instance, _normalise(email), source, dest, matching=matching)


def renumber_mailbox(instance: Instance, email: str, folder: str = "INBOX") -> None:
    """Makes Dovecot renumber a folder of `email`: new UIDVALIDITY, new UIDs, same messages.

    Servers do this after a restore or a migration; removing Dovecot's UID list
    and indexes is how to cause it on purpose.
    """
    maildir.forget_uids(instance, _normalise(email), folder)


def revoke_tokens(instance: Instance, email: str) -> str:
    """Revokes every access and refresh token of `email`, as a user removing our access at Google."""
    return str(_account_action(instance, "revoke", email=_normalise(email)))


def expire_tokens(instance: Instance, email: str) -> str:
    """Makes every access token of `email` expired (refresh tokens still work), for refresh tests."""
    return str(_account_action(instance, "expire", email=_normalise(email)))


def expire_client_tokens(instance: Instance, client_id: str) -> str:
    """Makes every access token issued to a client (a service account's client id, an app id) expired: what an
    hour does to the tokens that outlive a withdrawn delegation or consent."""
    return str(_account_action(instance, "expire-client", client_id=client_id))


def token_state(instance: Instance, email: str) -> dict[str, Any]:
    """{newest_refresh, newest_access, live_refresh, live_access} of `email` (token ids): what our app
    last held and which tokens still work."""
    state: dict[str, Any] = _account_action(instance, "token-state", email=_normalise(email))
    return state


def newest_still_live(taken: dict[str, Any], now: dict[str, Any] | None = None) -> dict[str, bool]:
    """Whether the tokens that were newest in the state `taken` still work in the state `now` (default:
    the same one): refresh and access."""
    now = taken if now is None else now
    return {
        "refresh": taken["newest_refresh"] in now["live_refresh"],
        "access": taken["newest_access"] in now["live_access"],
    }


def set_delegate(instance: Instance, mailbox: str, delegate: str, *, allowed: bool = True) -> str:
    """Gives `delegate` Full Access to `mailbox`, as an Exchange administrator does for a shared mailbox
    (allowed=False takes it away): the delegate's own token then opens `mailbox` when the XOAUTH2 user
    names `mailbox`, from the next login on."""
    return str(
        _account_action(
            instance,
            "delegate",
            mailbox=_existing(instance, mailbox),
            delegate=_existing(instance, delegate),
            allowed=allowed,
        )
    )


def create_shared_mailbox(instance: Instance, email: str) -> str:
    """A Microsoft 365 shared mailbox: nobody signs in to it (its password is random and forgotten at once);
    delegates (`set_delegate`) and applications (`add_mailbox_permission`) open it. Returns the address."""
    return create_mailbox(instance, email, secrets.token_urlsafe(24), persona="microsoft")


def add_mailbox_permission(instance: Instance, mailbox: str, app_id: str) -> str:
    """Exchange's Add-MailboxPermission -AccessRights FullAccess for an app's service principal (registered with
    `new_service_principal`) on a mailbox of its tenant: the app's IMAP.AccessAsApp token opens it from the next
    login on (XOAUTH2 user = the mailbox)."""
    return organisation_admin.set_mailbox_permission(instance, _existing(instance, mailbox), app_id, allowed=True)


def remove_mailbox_permission(instance: Instance, mailbox: str, app_id: str) -> str:
    """Exchange's Remove-MailboxPermission: the app's token no longer opens the mailbox, from the next login on."""
    return organisation_admin.set_mailbox_permission(instance, _existing(instance, mailbox), app_id, allowed=False)


def register_client(instance: Instance, client_id: str, client_secret: str, redirect_uris: Iterable[str]) -> str:
    """Registers another OpenID Connect client (or updates it), for the main app's company sign-in:
    issuer `instance.base_url`, discovery at `<issuer>/.well-known/openid-configuration`."""
    return str(
        _account_action(
            instance,
            "register-client",
            client_id=client_id,
            client_secret=client_secret,
            redirect_uris=list(redirect_uris),
        )
    )
