"""The table takes this app's name: ``carts_recoveryemail`` becomes ``recovery_recoveryemail`` (a rename; rows,
constraints and indexes stay as they are)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("recovery", "0001_recoveryemail_moves_from_carts")]

    operations = [migrations.AlterModelTable(name="recoveryemail", table=None)]
