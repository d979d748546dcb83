# Dates stored before the parser kept clear of datetime's limits: a page showing one in a time zone
# east or west of UTC failed, so they become "no date", recorded like the parser now records them.

from datetime import UTC, datetime, timedelta

from django.db import migrations
from django.db.models import Q, Value
from django.db.models.functions import Concat, Left

# As channels_app.services.parsing has them; repeated here so the migration never changes with the code.
EARLIEST_DATE = datetime.min.replace(tzinfo=UTC) + timedelta(days=2)
LATEST_DATE = datetime.max.replace(tzinfo=UTC) - timedelta(days=2)


def forget_dates_out_of_range(apps, schema_editor):
    Message = apps.get_model("channels_app", "Message")
    out_of_range = Q(date__lt=EARLIEST_DATE) | Q(date__gt=LATEST_DATE)
    Message.objects.filter(out_of_range, parse_problems="").update(date=None, parse_problems="Date out of range")
    Message.objects.filter(out_of_range).update(
        date=None, parse_problems=Left(Concat("parse_problems", Value("; Date out of range")), 500)
    )
    # Receipts no longer read Date headers (their range is the messages' arrival times): nothing else to do.


class Migration(migrations.Migration):
    dependencies = [
        ("channels_app", "0009_message_headers_whole"),
    ]

    operations = [migrations.RunPython(forget_dates_out_of_range, migrations.RunPython.noop)]
