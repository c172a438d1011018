from django.contrib import admin, messages
from django.utils import timezone
from django.utils.text import Truncator

from carts.admin import CartColumnsMixin
from core.admin import ReadOnlyAdmin

from .models import RecoveryEmail
from .sending import recovery_emails_resend


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
        return Truncator(email.last_error).chars(80)

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
