# "Until acknowledged" (issue 10): an order not accepted in time is sent again, then outbound,
# then raised to the member's unit leaders by the SLA clock, each step once (`confirm_step`); a
# member's message gets a `step`, so that an order may be sent again more than once.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('dispatch', '0008_position_fix_unique'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='membermessage',
            name='member_message_once_per_order',
        ),
        migrations.AddField(
            model_name='dispatchorder',
            name='confirm_step',
            field=models.PositiveSmallIntegerField(default=0, verbose_name='confirmation step'),
        ),
        migrations.AddField(
            model_name='dispatchorder',
            name='confirm_step_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='confirmation step at'),
        ),
        migrations.AddField(
            model_name='membermessage',
            name='step',
            field=models.PositiveSmallIntegerField(default=0, verbose_name='step'),
        ),
        migrations.AlterField(
            model_name='membermessage',
            name='kind',
            field=models.CharField(choices=[('order', 'new order'), ('stand_down', 'stand-down'), ('reminder', 'overdue reminder'), ('alarm', 'alarm'), ('major', 'major incident call'), ('resend', 'order sent again')], max_length=16, verbose_name='kind'),
        ),
        migrations.AddIndex(
            model_name='dispatchorder',
            index=models.Index(condition=models.Q(('confirm_step__lt', 3), ('state', 'dispatched')), fields=['dispatched_at'], name='dispatch_order_confirm_due'),
        ),
        migrations.AddConstraint(
            model_name='membermessage',
            constraint=models.UniqueConstraint(condition=models.Q(('alarm__isnull', True), ('order__isnull', False)), fields=('member', 'kind', 'order', 'step'), name='member_message_once_per_order'),
        ),
    ]
