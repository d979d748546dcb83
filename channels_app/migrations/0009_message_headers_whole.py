# Header values kept whole: varchar(998) becomes text.

from django.db import migrations, models


class AlterFieldExceptOnSQLite(migrations.AlterField):
    """SQLite ignores a varchar's length, and altering a column there remakes the table,
    copying every raw message: only the model state needs to change on SQLite."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "sqlite":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "sqlite":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class Migration(migrations.Migration):
    dependencies = [
        ("channels_app", "0008_identity_constraints"),
    ]

    operations = [
        AlterFieldExceptOnSQLite(model_name="message", name=name, field=models.TextField(blank=True))
        for name in ("from_address", "message_id", "subject")
    ]
