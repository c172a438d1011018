from django.contrib import admin

from core.admin import OverflowSafeChangeListMixin

from .models import Item


@admin.register(Item)
class ItemAdmin(OverflowSafeChangeListMixin, admin.ModelAdmin):
    list_display = ("name", "price", "is_active", "created_at")
    list_filter = ("is_active",)
    search_fields = ("name",)
    list_editable = ("is_active",)
