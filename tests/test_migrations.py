"""Data migrations, run against rows written the way older code wrote them."""

import importlib

import pytest
from django.apps import apps
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.models import Model
from django.urls import reverse

from channels_app.models import Backfill, BackfillStatus, Message

forget_dates = importlib.import_module("channels_app.migrations.0010_forget_dates_out_of_range")


def _store_date_past_the_edge(model: type[Model], pk: int, *columns: str) -> None:
    """What the old importer wrote for "31 Dec 9999 23:59:59 -1200": past datetime.max in UTC on PostgreSQL;
    SQLite failed on that one, but stored "+1200", which no time zone east of UTC can show."""
    value = "10000-01-01 11:59:59+00" if connection.vendor == "postgresql" else "9999-12-31 11:59:59"
    with connection.cursor() as cursor:
        for column in columns:
            cursor.execute(f"UPDATE {model._meta.db_table} SET {column} = %s WHERE id = %s", [value, pk])


def test_dates_stored_past_the_edge_become_no_date_and_are_recorded(tenancy, make_message, settings):
    channel = tenancy.shared_channel
    clean = make_message(channel=channel, subject="clean")
    flagged = make_message(channel=channel, subject="flagged", parse_problems="8-bit Subject")
    make_message(channel=channel, subject="kept", date=forget_dates.LATEST_DATE)
    for message in (clean, flagged):
        _store_date_past_the_edge(Message, message.pk, "date")
    Backfill.objects.create(channel=channel, status=BackfillStatus.DONE, imported=2)

    forget_dates.forget_dates_out_of_range(apps, None)

    settings.TIME_ZONE = "Pacific/Kiritimati"
    rows = {m.subject: (m.date, m.parse_problems) for m in Message.objects.filter(channel=channel)}
    assert rows == {
        "clean": (None, "Date out of range"),
        "flagged": (None, "8-bit Subject; Date out of range"),
        "kept": (forget_dates.LATEST_DATE, ""),
    }
    for name in ("channel_messages", "channel_overview"):
        assert tenancy.client_for(tenancy.member).get(reverse(name, args=[channel.pk])).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_the_tls_checkbox_becomes_the_security_choice_and_back():
    before, after = [("channels_app", "0012_notification_emails")], [("channels_app", "0013_imap_security")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    company = old.get_model("channels_app", "Company").objects.create(name="Old")
    workspace = old.get_model("channels_app", "Workspace").objects.create(company=company, name="Old")
    Inbox, Channel = old.get_model("channels_app", "Inbox"), old.get_model("channels_app", "Channel")
    for address, use_tls in (("tls@old.test", True), ("plain@old.test", False)):
        inbox = Inbox.objects.create(company=company, workspace=workspace, name=address, kind="shared")
        Channel.objects.create(inbox=inbox, provider="imap", address=address, imap_use_tls=use_tls)
    try:
        executor = MigrationExecutor(connection)
        executor.migrate(after)
        new = executor.loader.project_state(after).apps.get_model("channels_app", "Channel")
        assert dict(new.objects.values_list("address", "imap_security")) == {
            "tls@old.test": "tls",
            "plain@old.test": "none",
        }
        executor = MigrationExecutor(connection)
        executor.migrate(before)
        reverted = MigrationExecutor(connection).loader.project_state(before).apps.get_model("channels_app", "Channel")
        assert dict(reverted.objects.values_list("address", "imap_use_tls")) == {
            "tls@old.test": True,
            "plain@old.test": False,
        }
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())


def _message_indexes() -> list[list[str]]:
    with connection.cursor() as cursor:
        found = connection.introspection.get_constraints(cursor, Message._meta.db_table)
    return sorted(c["columns"] for c in found.values() if c["index"] or c["unique"])


@pytest.mark.django_db(transaction=True)
def test_the_channel_index_goes_since_the_unique_identity_index_starts_with_the_channel_and_comes_back():
    before, after = [("channels_app", "0026_user_time_zone")], [("channels_app", "0027_message_channel_index_dropped")]
    try:
        MigrationExecutor(connection).migrate(before)
        assert ["channel_id"] in _message_indexes()
        MigrationExecutor(connection).migrate(after)
        assert ["channel_id"] not in _message_indexes()
        assert ["channel_id", "identity"] in _message_indexes()
        MigrationExecutor(connection).migrate(before)
        assert ["channel_id"] in _message_indexes()
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
    assert ["channel_id"] not in _message_indexes()


def _raw_compression() -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT attcompression FROM pg_attribute WHERE attrelid = %s::regclass AND attname = 'raw'",
            [Message._meta.db_table],
        )
        return cursor.fetchone()[0]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="column compression is PostgreSQL's (CI runs it)")
@pytest.mark.django_db(transaction=True)
def test_raw_bytes_are_compressed_with_lz4_on_postgresql_and_back_to_the_default():
    before, after = [("channels_app", "0027_message_channel_index_dropped")], [("channels_app", "0028_message_raw_lz4")]
    try:
        assert _raw_compression() == "l"
        MigrationExecutor(connection).migrate(before)
        assert _raw_compression() == ""
        MigrationExecutor(connection).migrate(after)
        assert _raw_compression() == "l"
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
