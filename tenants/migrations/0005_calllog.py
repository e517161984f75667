# tenants.CallLog takes over the table unified_models.0005 renamed to tenants_calllog (rows kept): the model enters
# the state only, its index gets a tenants name, and the content type (with its admin permissions) moves along.

import django.db.models.deletion
from django.db import migrations, models


def move_content_type(apps, schema_editor, source='unified_models', target='tenants'):
    content_types = apps.get_model('contenttypes', 'ContentType')
    if not content_types.objects.filter(app_label=target, model='calllog').exists():
        content_types.objects.filter(app_label=source, model='calllog').update(app_label=target)


def move_content_type_back(apps, schema_editor):
    move_content_type(apps, schema_editor, source='tenants', target='unified_models')


class Migration(migrations.Migration):

    dependencies = [
        ('contenttypes', '0002_remove_content_type_name'),
        ('tenants', '0004_credential_token_generation'),
        ('unified_models', '0005_move_calllog_to_tenants'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='CallLog',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('method', models.CharField(max_length=10)),
                        ('path', models.CharField(max_length=1000)),
                        ('status', models.PositiveSmallIntegerField(blank=True, null=True)),
                        ('duration_ms', models.PositiveIntegerField()),
                        ('rate_limit_remaining', models.IntegerField(blank=True, null=True)),
                        ('minutely_remaining', models.IntegerField(blank=True, null=True)),
                        ('request_id', models.CharField(blank=True, max_length=128)),
                        ('error', models.CharField(blank=True, max_length=500)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('connection', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='call_logs', to='tenants.connection')),
                    ],
                    options={
                        'ordering': ['-created_at'],
                        'indexes': [models.Index(fields=['connection', 'created_at'], name='unified_mod_connect_67a225_idx')],
                    },
                ),
            ],
        ),
        migrations.RenameIndex(
            model_name='calllog', new_name='tenants_calllog_conn_created', old_name='unified_mod_connect_67a225_idx'
        ),
        migrations.RunPython(move_content_type, move_content_type_back),
    ]
