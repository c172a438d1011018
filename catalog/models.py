from decimal import Decimal

from django.db import models

from core.money import format_money


class Item(models.Model):
    """A product the shop sells, in the one currency of settings.CART_CURRENCY."""

    name = models.CharField(max_length=200)
    price = models.DecimalField(max_digits=10, decimal_places=2)
    is_active = models.BooleanField(default=True, help_text="Inactive items are hidden and cannot be added.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(price__gt=Decimal("0")), name="catalog_item_price_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({format_money(self.price)})"
