"""RecoveryEmail now belongs to the recovery app (recovery/migrations/0001): it leaves this app's state only; the
table and its rows are untouched."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("carts", "0006_cart_total_fits_its_column"),
        ("recovery", "0001_recoveryemail_moves_from_carts"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="RecoveryEmail")],
            database_operations=[],
        ),
    ]
