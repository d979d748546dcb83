"""Each channel's single INBOX cursor becomes its INBOX folder's; messages get their folder and an identity.

Identity is the content digest already stored; rows that share one within a channel were the same
message stored twice (the renumbering bug this release fixes): the oldest row is kept.
Channels that existed before read their other folders from now on, from 30 days back.
"""

from datetime import timedelta

from django.db import migrations
from django.db.models import Count, Min
from django.utils import timezone


def forwards(apps, schema_editor):
    Channel = apps.get_model("channels_app", "Channel")
    MailFolder = apps.get_model("channels_app", "MailFolder")
    Message = apps.get_model("channels_app", "Message")
    since = timezone.now() - timedelta(days=30)
    for channel in Channel.objects.all().iterator():
        folder = None
        if channel.uidvalidity is not None:
            folder = MailFolder.objects.create(
                channel=channel, name="INBOX", uidvalidity=channel.uidvalidity, last_uid=channel.last_uid
            )
        Message.objects.filter(channel=channel).update(folder=folder)
        Channel.objects.filter(pk=channel.pk).update(import_since=since)
    twins = Message.objects.values("channel_id", "digest").annotate(n=Count("id"), keep=Min("id")).filter(n__gt=1)
    for twin in twins.iterator():
        Message.objects.filter(channel_id=twin["channel_id"], digest=twin["digest"]).exclude(pk=twin["keep"]).delete()
    for message in Message.objects.filter(identity="").only("pk", "digest").iterator():
        Message.objects.filter(pk=message.pk).update(identity=message.digest or f"legacy:{message.pk}")


class Migration(migrations.Migration):
    dependencies = [("channels_app", "0006_folders_and_identity")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
