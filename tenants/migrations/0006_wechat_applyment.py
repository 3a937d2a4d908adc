"""WeChat Pay sub-merchant applications (特约商户进件) and their append-only history."""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models

import core.db


class Migration(migrations.Migration):

    dependencies = [
        ('tenants', '0005_merchant_profile'),
    ]

    operations = [
        migrations.CreateModel(
            name='WeChatApplyment',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('business_code', models.CharField(max_length=64, unique=True)),
                ('applyment_id', models.BigIntegerField(blank=True, null=True, unique=True)),
                ('state', models.CharField(choices=[('draft', 'Draft'), ('auditing', 'Under review'), ('rejected', 'Rejected'), ('to_be_confirmed', 'To be confirmed'), ('to_be_signed', 'To be signed'), ('signing', 'Signing'), ('finished', 'Finished'), ('canceled', 'Cancelled')], default='draft', max_length=20)),
                ('subject_type', models.CharField(blank=True, max_length=32)),
                ('merchant_shortname', models.CharField(blank=True, max_length=64)),
                ('data_encrypted', models.TextField(blank=True)),
                ('filled_fields', models.JSONField(blank=True, default=list)),
                ('media_ids', models.JSONField(blank=True, default=dict)),
                ('refilled_fields', models.JSONField(blank=True, default=list)),
                ('state_message', models.CharField(blank=True, max_length=300)),
                ('audit_detail', models.JSONField(blank=True, default=list)),
                ('sign_url', models.URLField(blank=True, max_length=500)),
                ('legal_validation_url', models.URLField(blank=True, max_length=500)),
                ('sub_mchid', models.CharField(blank=True, max_length=16)),
                ('bound_at', models.DateTimeField(blank=True, null=True)),
                ('flagged_reason', models.CharField(blank=True, max_length=300)),
                ('last_error', models.CharField(blank=True, max_length=300)),
                ('submitted_at', models.DateTimeField(blank=True, null=True)),
                ('finished_at', models.DateTimeField(blank=True, null=True)),
                ('last_queried_at', models.DateTimeField(blank=True, null=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('merchant', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='applyments', to='tenants.merchant')),
            ],
            options={
                'ordering': ['-created_at', '-id'],
            },
        ),
        migrations.CreateModel(
            name='WeChatApplymentStatusChange',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('actor_kind', models.CharField(choices=[('system', 'System'), ('wechat', 'WeChat Pay'), ('staff', 'Staff'), ('shopper', 'Shopper'), ('platform', 'Platform admin')], max_length=8)),
                ('actor_id', models.BigIntegerField(blank=True, null=True)),
                ('reason', models.CharField(blank=True, max_length=200)),
                ('reference', models.CharField(blank=True, max_length=64)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('from_status', models.CharField(blank=True, choices=[('draft', 'Draft'), ('auditing', 'Under review'), ('rejected', 'Rejected'), ('to_be_confirmed', 'To be confirmed'), ('to_be_signed', 'To be signed'), ('signing', 'Signing'), ('finished', 'Finished'), ('canceled', 'Cancelled')], max_length=20)),
                ('to_status', models.CharField(choices=[('draft', 'Draft'), ('auditing', 'Under review'), ('rejected', 'Rejected'), ('to_be_confirmed', 'To be confirmed'), ('to_be_signed', 'To be signed'), ('signing', 'Signing'), ('finished', 'Finished'), ('canceled', 'Cancelled')], max_length=20)),
                ('applyment', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='status_changes', to='tenants.wechatapplyment')),
            ],
            options={
                'ordering': ['-created_at', '-id'],
                'abstract': False,
            },
        ),
        migrations.AddConstraint(
            model_name='wechatapplyment',
            constraint=models.UniqueConstraint(condition=models.Q(('state__in', ['finished', 'canceled']), _negated=True), fields=('merchant',), name='tenants_applyment_one_open_per_merchant'),
        ),
        core.db.append_only("tenants_wechatapplymentstatuschange"),
    ]
