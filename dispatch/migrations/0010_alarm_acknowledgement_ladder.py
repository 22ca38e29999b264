# "Until acknowledged" for alarms (issue 10): an overdue-arrival alarm the unit leaders do not
# acknowledge is sent to them again, then outbound, then raised to the command room by the SLA
# clock, each step once (`ack_step`), each waiting from the one before (`ack_step_at`: the alarm
# raised, its last step, its reopening after a snooze); an alarm's message to a member gets a
# `step` in its unique constraint, so that it may be sent again. Alarms raised before the ladder
# existed are not chased: they are marked as past its last step.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('dispatch', '0009_order_confirmation_ladder'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='membermessage',
            name='member_message_once_per_alarm',
        ),
        migrations.AddField(
            model_name='alarm',
            name='ack_step',
            field=models.PositiveSmallIntegerField(default=0, verbose_name='acknowledgement step'),
        ),
        migrations.AddField(
            model_name='alarm',
            name='ack_step_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='acknowledgement step at'),
        ),
        migrations.RunSQL("UPDATE dispatch_alarm SET ack_step = 3", reverse_sql=migrations.RunSQL.noop),
        migrations.AddIndex(
            model_name='alarm',
            index=models.Index(condition=models.Q(('ack_step__lt', 3), ('kind', 'arrival_overdue'), ('state', 'open')), fields=['ack_step_at'], name='alarm_ack_due'),
        ),
        migrations.AddConstraint(
            model_name='membermessage',
            constraint=models.UniqueConstraint(condition=models.Q(('alarm__isnull', False)), fields=('member', 'kind', 'alarm', 'step'), name='member_message_once_per_alarm'),
        ),
    ]
