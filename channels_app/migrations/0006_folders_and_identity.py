"""Folders with their own cursors, messages identified by content (or Gmail's id), bounded first imports,
daily download budgets and receipts counted from the incident's start. Schema first; the cursors move
in 0007, the old constraints go in 0008."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("channels_app", "0005_provider_answers")]

    operations = [
        migrations.CreateModel(
            name="MailFolder",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(max_length=1000)),
                ("special_use", models.CharField(blank=True, max_length=20)),
                ("uidvalidity", models.BigIntegerField(blank=True, null=True)),
                ("last_uid", models.BigIntegerField(default=0)),
                ("reconciled_up_to", models.BigIntegerField(default=0)),
                (
                    "channel",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="folders", to="channels_app.channel"
                    ),
                ),
            ],
            options={"ordering": ["name"]},
        ),
        migrations.AddConstraint(
            model_name="mailfolder",
            constraint=models.UniqueConstraint(fields=("channel", "name"), name="folder_unique_per_channel"),
        ),
        migrations.AddField(
            model_name="message",
            name="folder",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="messages",
                to="channels_app.mailfolder",
            ),
        ),
        migrations.AddField(
            model_name="message", name="identity", field=models.CharField(default="", max_length=80), preserve_default=False
        ),
        migrations.AddField(model_name="message", name="header_key", field=models.CharField(blank=True, max_length=32)),
        migrations.AddField(model_name="message", name="internal_date", field=models.DateTimeField(blank=True, null=True)),
        migrations.AddField(model_name="channel", name="import_since", field=models.DateTimeField(blank=True, null=True)),
        migrations.AddField(model_name="channel", name="download_day", field=models.DateField(blank=True, null=True)),
        migrations.AddField(model_name="channel", name="downloaded_bytes", field=models.BigIntegerField(default=0)),
        migrations.AddField(model_name="backfill", name="total_bytes", field=models.BigIntegerField(default=0)),
        migrations.AddField(model_name="backfill", name="imported_bytes", field=models.BigIntegerField(default=0)),
        migrations.AddField(
            model_name="backfill", name="incident_started_at", field=models.DateTimeField(blank=True, null=True)
        ),
        migrations.AddField(model_name="backfill", name="progressed_at", field=models.DateTimeField(blank=True, null=True)),
        migrations.AddField(model_name="backfill", name="paused_until", field=models.DateTimeField(blank=True, null=True)),
        migrations.RemoveField(model_name="backfill", name="earliest_message_at"),
        migrations.RemoveField(model_name="backfill", name="latest_message_at"),
    ]
