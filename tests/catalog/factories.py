from decimal import Decimal

import factory

from catalog.models import Item


class ItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Item

    name = factory.Sequence(lambda n: f"Item {n}")
    price = Decimal("10.00")
    is_active = True
