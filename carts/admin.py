from django.contrib import admin, messages
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django_apscheduler.admin import DjangoJobAdmin, DjangoJobExecutionAdmin
from django_apscheduler.models import DjangoJob, DjangoJobExecution

from cartrecovery.admin import OverflowSafeChangeListMixin

from .models import AbandonmentLog, Cart, CartItem, RecoveryEmail
from .recovery import recovery_emails_resend
from .selectors import cart_rows
from .views import csv_response


class CartItemInline(admin.TabularInline):
    model = CartItem
    extra = 0
    fields = ("item", "quantity", "unit_price", "line_total")
    readonly_fields = ("item", "quantity", "unit_price", "line_total")
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False  # lines change through the API's services, which keep totals and timestamps right

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("item")

    @admin.display(description="Line total")
    def line_total(self, line: CartItem):
        return line.line_total


class ReadOnlyAdmin(OverflowSafeChangeListMixin, admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


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
    list_display = (
        "id",
        "user_email",
        "status",
        "item_count",
        "total",
        "last_updated",
        "abandoned_at",
        "recovered_at",
        "recovery_source",
        "checked_out_at",
    )
    list_filter = ("status", "recovery_source", "last_updated", "abandoned_at", "recovered_at", "checked_out_at")
    search_fields = ("user__email",)
    date_hierarchy = "last_updated"
    list_select_related = ("user",)
    inlines = [CartItemInline]
    readonly_fields = [field.name for field in Cart._meta.fields]
    show_full_result_count = False
    actions = ["export_selected_as_csv"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return request.method in ("GET", "HEAD") and super().has_view_permission(request, obj)

    @admin.display(description="Email", ordering="user__email")
    def user_email(self, cart: Cart) -> str:
        return cart.user.email

    @admin.action(description="Export selected carts as CSV", permissions=["view"])
    def export_selected_as_csv(self, request, queryset):
        # The report's CSV columns and streaming, for exactly the ticked carts.
        return csv_response(cart_rows(carts=queryset.order_by("-id")), filename_prefix="carts")


@admin.register(AbandonmentLog)
class AbandonmentLogAdmin(CartColumnsMixin, ReadOnlyAdmin):
    list_display = ("cart_link", "cart_email", "abandoned_at", "item_count", "total")
    list_select_related = ("cart__user",)
    date_hierarchy = "abandoned_at"
    search_fields = ("cart__user__email",)
    readonly_fields = ("cart_link", "abandoned_at", "item_count", "total")
    fields = ("cart_link", "abandoned_at", "item_count", "total")


@admin.register(RecoveryEmail)
class RecoveryEmailAdmin(CartColumnsMixin, ReadOnlyAdmin):
    """Reminder emails, read-only, with their delivery state and last error; failed ones can be resent."""

    list_display = (
        "id",
        "cart_link",
        "cart_email",
        "step",
        "status",
        "planned_at",
        "sent_at",
        "attempts",
        "next_attempt_at",
        "short_error",
        "clicked_at",
    )
    list_filter = ("status", "step")
    search_fields = ("cart__user__email",)
    list_select_related = ("cart__user",)
    date_hierarchy = "planned_at"
    actions = ["resend_failed"]
    show_full_result_count = False

    @admin.display(description="Last error")
    def short_error(self, email: RecoveryEmail) -> str:
        return email.last_error if len(email.last_error) <= 80 else email.last_error[:79] + "…"

    def has_resend_permission(self, request) -> bool:
        return request.user.is_active and request.user.is_staff and self.has_view_permission(request)

    @admin.action(description="Resend the selected failed emails (at the next scheduler run)", permissions=["resend"])
    def resend_failed(self, request, queryset):
        selected = list(queryset.values_list("pk", flat=True))
        queued = recovery_emails_resend(email_ids=selected, now=timezone.now())
        skipped = len(selected) - queued
        self.message_user(
            request,
            f"{queued} email(s) queued; the scheduler sends them at its next run."
            + (f" {skipped} not failed, left as they were." if skipped else ""),
            messages.SUCCESS if queued else messages.WARNING,
        )


# The scheduler's run history (django-apscheduler's admin), with the same guard against a date filter past year 1 or
# 9999 as every other list here.
for _model, _admin_class in ((DjangoJob, DjangoJobAdmin), (DjangoJobExecution, DjangoJobExecutionAdmin)):
    admin.site.unregister(_model)
    admin.site.register(_model, type(_admin_class.__name__, (OverflowSafeChangeListMixin, _admin_class), {}))
