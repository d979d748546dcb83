# The "Use TLS" checkbox becomes a choice of security: TLS, STARTTLS or none (a visible, confirmed choice).

from django.db import migrations, models


def use_tls_to_security(apps, schema_editor):
    Channel = apps.get_model("channels_app", "Channel")
    Channel.objects.filter(imap_use_tls=False).update(imap_security="none")
    Channel.objects.filter(imap_use_tls=True).update(imap_security="tls")


def security_to_use_tls(apps, schema_editor):
    Channel = apps.get_model("channels_app", "Channel")
    Channel.objects.filter(imap_security="none").update(imap_use_tls=False)
    Channel.objects.exclude(imap_security="none").update(imap_use_tls=True)


class Migration(migrations.Migration):

    dependencies = [
        ('channels_app', '0012_notification_emails'),
    ]

    operations = [
        migrations.AddField(
            model_name='channel',
            name='imap_security',
            field=models.CharField(choices=[('tls', 'TLS'), ('starttls', 'STARTTLS'), ('none', 'No encryption')], default='tls', max_length=10),
        ),
        migrations.RunPython(use_tls_to_security, security_to_use_tls),
        migrations.RemoveField(
            model_name='channel',
            name='imap_use_tls',
        ),
    ]
