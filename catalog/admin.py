from django.contrib import admin

from core.admin import OverflowSafeChangeListMixin
from core.money import format_money

from .models import Item


@admin.register(Item)
class ItemAdmin(OverflowSafeChangeListMixin, admin.ModelAdmin):
    list_display = ("name", "money_price", "is_active", "created_at")
    list_filter = ("is_active",)
    search_fields = ("name",)
    list_editable = ("is_active",)

    @admin.display(description="Price", ordering="price")
    def money_price(self, item: Item) -> str:
        return format_money(item.price)
