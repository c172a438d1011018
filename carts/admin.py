from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from .models import AbandonmentLog, Cart, CartItem, RecoveryEmail


class CartItemInline(admin.TabularInline):
    model = CartItem
    extra = 0
    fields = ("item", "quantity", "unit_price", "line_total")
    readonly_fields = ("item", "quantity", "unit_price", "line_total")
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False  # lines change through the API's services, which keep totals and timestamps right

    @admin.display(description="Line total")
    def line_total(self, line: CartItem):
        return line.line_total


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Cart)
class CartAdmin(admin.ModelAdmin):
    list_display = ("id", "user_email", "status", "item_count", "total", "last_updated", "abandoned_at", "recovered_at")
    list_filter = ("status", "recovery_source", "abandoned_at", "checked_out_at")
    search_fields = ("user__email",)
    date_hierarchy = "last_updated"
    list_select_related = ("user",)
    inlines = [CartItemInline]
    readonly_fields = [field.name for field in Cart._meta.fields]
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return request.method in ("GET", "HEAD") and super().has_view_permission(request, obj)

    @admin.display(description="Email", ordering="user__email")
    def user_email(self, cart: Cart) -> str:
        return cart.user.email


@admin.register(AbandonmentLog)
class AbandonmentLogAdmin(ReadOnlyAdmin):
    list_display = ("cart_link", "abandoned_at", "item_count", "total")
    list_select_related = ("cart",)
    date_hierarchy = "abandoned_at"
    search_fields = ("cart__user__email",)

    @admin.display(description="Cart", ordering="cart")
    def cart_link(self, log: AbandonmentLog):
        return format_html(
            '<a href="{}">Cart #{}</a>', reverse("admin:carts_cart_change", args=[log.cart_id]), log.cart_id
        )


@admin.register(RecoveryEmail)
class RecoveryEmailAdmin(ReadOnlyAdmin):
    list_display = ("cart", "step", "status", "planned_at", "sent_at", "attempts", "clicked_at")
    list_filter = ("status", "step")
    search_fields = ("cart__user__email",)
    list_select_related = ("cart",)
    date_hierarchy = "planned_at"
