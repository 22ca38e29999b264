# Idempotency keys of the API's actions (issue 10): one row per user and key.

from django.conf import settings
from django.db import migrations, models

import django.db.models.deletion


class Migration(migrations.Migration):

    dependencies = [
        ('incidents', '0008_handover_deadline_indexes'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='IdempotentRequest',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('key', models.CharField(max_length=128, verbose_name='idempotency key')),
                ('method', models.CharField(max_length=8, verbose_name='method')),
                ('path', models.TextField(verbose_name='path')),
                ('body_hash', models.CharField(max_length=64, verbose_name='request body SHA-256')),
                ('response_status', models.PositiveSmallIntegerField(blank=True, null=True, verbose_name='response status')),
                ('response_body', models.JSONField(blank=True, null=True, verbose_name='response body')),
                ('created_at', models.DateTimeField(verbose_name='created at')),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name': 'idempotent request',
                'verbose_name_plural': 'idempotent requests',
                'indexes': [models.Index(fields=['created_at'], name='idempotent_request_created')],
                'constraints': [models.UniqueConstraint(fields=('user', 'key'), name='idempotent_request_user_key')],
            },
        ),
    ]
