import pytest
from django.core.management import call_command

from carts.models import AbandonmentLog, Cart
from catalog.models import Item

pytestmark = pytest.mark.django_db


def test_demo_fixtures_load_into_a_fresh_database_with_carts_in_every_state():
    call_command("loaddata", "catalog", "demo", verbosity=0)
    assert Item.objects.count() == 12
    assert set(Cart.objects.values_list("status", flat=True)) == {"active", "abandoned", "checked_out"}
    assert AbandonmentLog.objects.count() == Cart.objects.filter(abandoned_at__isnull=False).count()
