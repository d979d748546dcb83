from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("channels_app", "0007_move_cursors_to_folders")]

    operations = [
        migrations.RemoveConstraint(model_name="message", name="message_unique_per_uid"),
        migrations.AddConstraint(
            model_name="message",
            constraint=models.UniqueConstraint(fields=("channel", "identity"), name="message_unique_identity"),
        ),
        migrations.AddIndex(
            model_name="message", index=models.Index(fields=["channel", "header_key"], name="channels_ap_channel_e32709_idx")
        ),
        migrations.AddIndex(
            model_name="message",
            index=models.Index(fields=["channel", "imported_at"], name="channels_ap_channel_5a7861_idx"),
        ),
        migrations.AddIndex(
            model_name="message", index=models.Index(fields=["folder", "uid"], name="channels_ap_folder__23197b_idx")
        ),
        migrations.RemoveField(model_name="channel", name="uidvalidity"),
        migrations.RemoveField(model_name="channel", name="last_uid"),
    ]
