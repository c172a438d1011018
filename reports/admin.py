"""The report's additions to the admin: exporting ticked carts with the report's CSV columns."""

from django.contrib import admin

from carts.models import Cart
from core.exports import csv_response
from recovery.admin import CartWithRemindersAdmin as CartAdmin

from .selectors import REPORT_COLUMNS, cart_rows


class CartWithExportAdmin(CartAdmin):
    actions = [*(CartAdmin.actions or []), "export_selected_as_csv"]

    @admin.action(description="Export selected carts as CSV", permissions=["view"])
    def export_selected_as_csv(self, request, queryset):
        # The report's CSV columns and streaming, for exactly the ticked carts.
        return csv_response(cart_rows(carts=queryset.order_by("-id")), columns=REPORT_COLUMNS, filename_prefix="carts")


admin.site.unregister(Cart)
admin.site.register(Cart, CartWithExportAdmin)
