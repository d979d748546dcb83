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
        # The Messages tab lists by arrival now, not by Date header.
        migrations.RemoveIndex(model_name="message", name="channels_ap_channel_a29cad_idx"),
        migrations.AddIndex(
            model_name="message",
            index=models.Index(fields=["channel", "-internal_date"], name="channels_ap_channel_d85730_idx"),
        ),
        migrations.RemoveField(model_name="channel", name="uidvalidity"),
        migrations.RemoveField(model_name="channel", name="last_uid"),
    ]
