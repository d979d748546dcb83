from django.db import migrations

# A message's raw bytes (a few KB) pass PostgreSQL's TOAST threshold (~2 KB), so each one is compressed
# as it is written: with the default pglz that is a large share of the server's time per imported
# message (bench/RESULTS.md); lz4 compresses several times faster. Only new rows are written with it.
# PostgreSQL 14 and later, built with lz4 (its packages are); elsewhere, and on SQLite, nothing changes.


def _lz4_offered(cursor) -> bool:
    cursor.execute("SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'")
    row = cursor.fetchone()
    return bool(row and row[0])


def compress(apps, schema_editor, method="lz4"):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        if _lz4_offered(cursor):
            cursor.execute(f"ALTER TABLE channels_app_message ALTER COLUMN raw SET COMPRESSION {method}")


def uncompress(apps, schema_editor):
    compress(apps, schema_editor, method="DEFAULT")


class Migration(migrations.Migration):

    dependencies = [
        ('channels_app', '0027_message_channel_index_dropped'),
    ]

    operations = [migrations.RunPython(compress, uncompress)]
