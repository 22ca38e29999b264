# One fix per member and time (issue 10): a replayed batch of positions adds nothing.
# Duplicates already stored (same member, same time) are deleted first, the lowest id kept; the
# plain (member, time) index becomes the unique constraint of the same name.

from django.db import migrations, models

DELETE_DUPLICATES = """
DELETE FROM dispatch_positionfix f
USING dispatch_positionfix g
WHERE f.member_id = g.member_id AND f.recorded_at = g.recorded_at AND f.id > g.id
"""


class Migration(migrations.Migration):

    dependencies = [
        ('dispatch', '0007_member_messages'),
    ]

    operations = [
        migrations.RunSQL(DELETE_DUPLICATES, reverse_sql=migrations.RunSQL.noop, elidable=False),
        migrations.RemoveIndex(
            model_name='positionfix',
            name='position_fix_member_time',
        ),
        migrations.AddConstraint(
            model_name='positionfix',
            constraint=models.UniqueConstraint(fields=('member', 'recorded_at'), name='position_fix_member_time'),
        ),
    ]
