# The vendor call log moves to tenants (it belongs to the connection; tenants/vendor_calls.py writes it). The table is
# renamed in place, so its rows stay; tenants.0005_calllog then takes the model over in the migration state only.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('unified_models', '0004_reconciliation'),
    ]

    operations = [
        migrations.AlterModelTable(name='calllog', table='tenants_calllog'),
        migrations.SeparateDatabaseAndState(state_operations=[migrations.DeleteModel(name='CallLog')]),
    ]
