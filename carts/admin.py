from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from core.admin import OverflowSafeChangeListMixin, ReadOnlyAdmin
from core.money import format_money

from .models import AbandonmentLog, Cart, CartItem


class CartItemInline(admin.TabularInline):
    model = CartItem
    extra = 0
    fields = ("item", "quantity", "price", "line_total")
    readonly_fields = ("item", "quantity", "price", "line_total")
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False  # lines change through the API's services, which keep totals and timestamps right

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("item")

    @admin.display(description="Unit price")
    def price(self, line: CartItem) -> str:
        return format_money(line.unit_price)

    @admin.display(description="Line total")
    def line_total(self, line: CartItem) -> str:
        return format_money(line.line_total)


class CartColumnsMixin:
    """Columns for the admins of rows that belong to a cart (logs, recovery emails): a link to it, its shopper."""

    @admin.display(description="Cart", ordering="cart")
    def cart_link(self, row):
        return format_html(
            '<a href="{}">Cart #{}</a>', reverse("admin:carts_cart_change", args=[row.cart_id]), row.cart_id
        )

    @admin.display(description="Email", ordering="cart__user__email")
    def cart_email(self, row) -> str:
        return row.cart.user.email


@admin.register(Cart)
class CartAdmin(OverflowSafeChangeListMixin, admin.ModelAdmin):
    # item_count/total are the cart's own columns, kept equal to the lines by the services: no per-row query.
    # Eight columns: a 1366 px screen shows them without scrolling sideways.
    list_display = (
        "id",
        "user_email",
        "status",
        "item_count",
        "money_total",
        "last_updated",
        "abandoned_at",
        "recovery_source",
    )
    list_filter = ("status", "recovery_source", "last_updated", "abandoned_at", "recovered_at", "checked_out_at")
    search_fields = ("user__email",)
    date_hierarchy = "last_updated"
    list_select_related = ("user",)
    inlines = [CartItemInline]
    fields = readonly_fields = [
        *(field.name for field in Cart._meta.fields if field.name not in ("id", "total")),
        "money_total",
    ]
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # carts change through the services only: the page shows them, with no Save

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="Email", ordering="user__email")
    def user_email(self, cart: Cart) -> str:
        return cart.user.email

    @admin.display(description="Total", ordering="total")
    def money_total(self, cart: Cart) -> str:
        return format_money(cart.total)


@admin.register(AbandonmentLog)
class AbandonmentLogAdmin(CartColumnsMixin, ReadOnlyAdmin):
    list_display = ("cart_link", "cart_email", "abandoned_at", "item_count", "money_total")
    list_select_related = ("cart__user",)
    date_hierarchy = "abandoned_at"
    search_fields = ("cart__user__email",)
    readonly_fields = ("cart_link", "abandoned_at", "item_count", "money_total")
    fields = ("cart_link", "abandoned_at", "item_count", "money_total")

    @admin.display(description="Total", ordering="total")
    def money_total(self, log: AbandonmentLog) -> str:
        return format_money(log.total)
