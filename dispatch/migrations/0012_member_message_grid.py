# A member told that their grids changed (issue 13): publishing a grid version writes one `grid`
# message per member whose grids change, naming the version (`version`), once per member and
# version (`member_message_once_per_version`).

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('dispatch', '0011_history_triggers'),
        ('geo', '0006_published_versions_follow'),
    ]

    operations = [
        migrations.AddField(
            model_name='membermessage',
            name='version',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='geo.boundaryversion', verbose_name='grid version'),
        ),
        migrations.AlterField(
            model_name='membermessage',
            name='kind',
            field=models.CharField(choices=[('order', 'new order'), ('stand_down', 'stand-down'), ('reminder', 'overdue reminder'), ('alarm', 'alarm'), ('major', 'major incident call'), ('resend', 'order sent again'), ('grid', 'grid assignment changed')], max_length=16, verbose_name='kind'),
        ),
        migrations.AddConstraint(
            model_name='membermessage',
            constraint=models.UniqueConstraint(condition=models.Q(('version__isnull', False)), fields=('member', 'kind', 'version'), name='member_message_once_per_version'),
        ),
    ]
