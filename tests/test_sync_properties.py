"""Property: whatever happens to a mailbox, the sync ends with each of its messages stored exactly once.

Hypothesis plays random sequences against a real Local mail mailbox: deliveries into any folder with
Date headers from any year (or none, or garbage) and arrival times from the past, moves between
folders, renumberings (new UIDVALIDITY), syncs, and syncs whose worker is killed between two batches.
After a last sync the messages stored are exactly the mailbox's (every folder but Junk and Trash),
each once, each where it is now.
"""

import hashlib
import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test
from imapclient import IMAPClient

from channels_app.models import Channel, Inbox, InboxKind
from channels_app.providers import Credentials
from channels_app.services import sync
from channels_app.services.credentials import channel_store_credentials
from channels_app.tasks import sync_channel
from localprovider import control

pytestmark = [pytest.mark.local_provider, pytest.mark.django_db(transaction=True)]

FOLDERS = ("INBOX", "Archive", "Sent", "Customers/Acme", "Junk", "Trash")
SKIPPED = ("Junk", "Trash")
# Mail moved into Junk or Trash is mail someone threw away: what we imported stays imported, so moves
# go to the folders we read (and may come out of Junk).
READ = tuple(name for name in FOLDERS if name not in SKIPPED)
DATES = (
    "now",
    "Fri, 31 Dec 9999 23:59:59 -1200",
    "Tue, 19 Jan 2038 03:14:08 +0000",
    "Thu, 01 Jan 1970 00:00:00 +0000",
    "yesterday-ish, maybe",
    "",
)
_seq = itertools.count(1)


class KilledWorker(BaseException):
    """Stands for SIGKILL between two batches: not an Exception, so nothing in the app handles it."""


def _message(address: str, date: str) -> bytes:
    n = next(_seq)
    if date == "now":
        date = f"{datetime.now(UTC):%a, %d %b %Y %H:%M:%S +0000}"
    date_line = f"Date: {date}\r\n" if date else ""
    return (
        f"From: sender{n}@example.test\r\nTo: {address}\r\nSubject: property {n}\r\n"
        f"Message-ID: <prop{n}@example.test>\r\n{date_line}\r\nBody {n}\r\n"
    ).encode()


def _server_messages(instance, address: str, password: str) -> dict[str, str]:
    """What the mailbox holds: {digest: folder} over every folder we read."""
    client = IMAPClient("127.0.0.1", port=instance.imap_port, ssl=False)
    client.login(address, password)
    held: dict[str, str] = {}
    try:
        for flags, _delimiter, name in client.list_folders():
            if name in SKIPPED or {b"\\Noselect", b"\\NonExistent"} & set(flags):
                continue
            client.select_folder(name, readonly=True)
            uids = client.search(["ALL"])
            for data in client.fetch(uids, ["BODY.PEEK[]"]).values() if uids else []:
                held[hashlib.sha256(data[b"BODY[]"]).hexdigest()] = name
    finally:
        client.logout()
    return held


@pytest.fixture
def machine(local_provider, tenancy, make_mailbox, settings):
    settings.SYNC_BATCH_SIZE = 2  # several batches, so a kill can fall between two

    class MailboxLife(RuleBasedStateMachine):
        @initialize()
        def a_connected_channel(self):
            self.mailbox = make_mailbox("prop")
            inbox = Inbox.objects.create(
                company=tenancy.company, kind=InboxKind.SHARED, workspace=tenancy.workspace, name=f"Prop {next(_seq)}"
            )
            self.channel = Channel.objects.create(
                inbox=inbox,
                provider="imap",
                address=self.mailbox.address,
                imap_host="127.0.0.1",
                imap_port=local_provider.imap_port,
                imap_security="none",
                imap_username=self.mailbox.address,
            )
            channel_store_credentials(channel=self.channel, credentials=Credentials(password=self.mailbox.password))
            self.where: dict[str, list[bytes]] = {name: [] for name in FOLDERS}
            # A mailbox already in use: mail in two folders, both read once before anything happens.
            for folder in ("INBOX", "Archive"):
                self.deliver(folder, "now", 2, 0)
            self.a_sync()

        @rule(
            folder=st.sampled_from(FOLDERS),
            date=st.sampled_from(DATES),
            count=st.integers(1, 3),
            days_ago=st.sampled_from([0, 3, 45]),
        )
        def deliver(self, folder, date, count, days_ago):
            messages = [_message(self.mailbox.address, date) for _ in range(count)]
            arrived = datetime.now(UTC) - timedelta(days=days_ago)
            control.append_messages(local_provider, self.mailbox.address, messages, folder, arrived)
            self.where[folder].extend(messages)

        @rule(source=st.sampled_from(FOLDERS), dest=st.sampled_from(READ), pick=st.integers(0, 10))
        def move(self, source, dest, pick):
            if source == dest or not self.where[source]:
                return
            message = self.where[source].pop(pick % len(self.where[source]))
            subject = message.split(b"Subject: ")[1].split(b"\r\n")[0]
            moved = control.move_messages(
                local_provider, self.mailbox.address, source, dest, matching=b"Subject: " + subject + b"\r\n"
            )
            assert moved == 1
            self.where[dest].append(message)

        @rule(folder=st.sampled_from(FOLDERS))
        def renumber(self, folder):
            if self.where[folder]:
                control.renumber_mailbox(local_provider, self.mailbox.address, folder)

        @rule()
        def a_sync(self):
            Channel.objects.filter(pk=self.channel.pk).update(next_attempt_at=None)
            assert "crashed" not in sync_channel(self.channel.pk)

        @rule(after=st.integers(0, 2))
        def a_sync_whose_worker_is_killed(self, after):
            real = sync._store_batch
            calls = itertools.count()

            def dies(*args, **kwargs):
                if next(calls) >= after:
                    raise KilledWorker
                return real(*args, **kwargs)

            sync._store_batch = dies
            try:
                Channel.objects.filter(pk=self.channel.pk).update(next_attempt_at=None)
                sync_channel(self.channel.pk)
            except KilledWorker:
                pass
            finally:
                sync._store_batch = real
            # The dead worker's lease runs out by itself.
            Channel.objects.filter(pk=self.channel.pk).update(lease_owner="", lease_until=None)

        @invariant()
        def never_the_same_message_twice(self):
            if hasattr(self, "channel"):
                identities = list(self.channel.messages.values_list("identity", flat=True))
                assert len(identities) == len(set(identities))

        def teardown(self):
            if not hasattr(self, "channel"):
                return
            self.a_sync()
            held = _server_messages(local_provider, self.mailbox.address, self.mailbox.password)
            stored = dict(self.channel.messages.values_list("identity", "folder__name"))
            assert stored == held

    return MailboxLife


def test_any_life_of_a_mailbox_ends_with_each_message_stored_once_where_it_is(machine):
    run_state_machine_as_test(
        machine,
        settings=hypothesis_settings(
            max_examples=20,
            stateful_step_count=10,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )
