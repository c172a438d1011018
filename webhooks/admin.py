"""Staff's side of webhooks: endpoints (the secret shown once, on creation and on rotation), the events in the
outbox, and every delivery with its attempts and a replay."""

import json

from django import forms
from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import Truncator

from core.admin import OverflowSafeChangeListMixin, ReadOnlyAdmin
from core.errors import ApplicationError

from .delivery import delivery_replay, event_payload
from .endpoints import clean_event_types, endpoint_rotate_secret
from .models import Attempt, Delivery, Endpoint, Event

SECRETS_TEMPLATE = "admin/webhooks/endpoint/secrets.html"


class EndpointForm(forms.ModelForm):
    event_types = forms.MultipleChoiceField(
        choices=Event.Type.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="The event types sent to this endpoint; none selected means every type.",
    )

    class Meta:
        model = Endpoint
        fields = ["url", "description", "event_types", "active"]
        widgets = {"url": forms.URLInput(attrs={"size": 80})}

    def clean_event_types(self):
        return clean_event_types(self.cleaned_data["event_types"])


@admin.register(Endpoint)
class EndpointAdmin(OverflowSafeChangeListMixin, admin.ModelAdmin):
    form = EndpointForm
    list_display = ("id", "url", "description", "active", "subscribed_types", "created_at")
    list_display_links = ("id", "url")
    list_filter = ("active",)
    search_fields = ("url", "description")
    readonly_fields = ("secret_note", "created_at")
    actions = ["rotate_secret"]

    @admin.display(description="Events")
    def subscribed_types(self, endpoint: Endpoint) -> str:
        return ", ".join(endpoint.event_types) or "all"

    @admin.display(description="Signing secret")
    def secret_note(self, endpoint: Endpoint) -> str:
        if endpoint.pk is None:
            return "Made when the endpoint is saved, and shown once."
        return "Not shown again. The action “Rotate the secret” makes a new one (shown once) and retires this one."

    def _show_secrets(self, request, secrets: list[tuple[Endpoint, str]], *, title: str) -> TemplateResponse:
        context = {**self.admin_site.each_context(request), "title": title, "secrets": secrets, "opts": self.opts}
        return TemplateResponse(request, SECRETS_TEMPLATE, context)

    def response_add(self, request, obj, post_url_continue=None):
        # Instead of the usual redirect: the one page that shows the new secret (admin pages are never cached).
        return self._show_secrets(request, [(obj, obj.secret)], title="Endpoint added: its signing secret")

    @admin.action(
        description="Rotate the secret of the selected endpoints (the new one is shown once)", permissions=["change"]
    )
    def rotate_secret(self, request, queryset):
        endpoints = list(queryset.order_by("pk"))
        secrets = endpoint_rotate_secret(endpoint_ids=[endpoint.pk for endpoint in endpoints])
        for endpoint in endpoints:
            self.log_change(request, endpoint, "Rotated the signing secret.")
        return self._show_secrets(
            request,
            [(endpoint, secrets[endpoint.pk]) for endpoint in endpoints if endpoint.pk in secrets],
            title="New signing secrets",
        )


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "type",
        "occurred_at",
        "cart_id",
        "email",
        "status",
        "item_count",
        "total",
        "step",
        "fanned_out_at",
    )
    list_filter = ("type",)
    search_fields = ("email", "=cart_id")
    date_hierarchy = "occurred_at"
    show_full_result_count = False


class AttemptInline(admin.TabularInline):
    model = Attempt
    extra = 0
    can_delete = False
    fields = ("attempted_at", "status_code", "latency_ms", "error", "response_excerpt", "replay")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    """Every delivery with its attempts (status code, latency, the first 1 KB of the answer, the error); replay
    sends one again now, with the same webhook-id."""

    list_display = (
        "id",
        "webhook_id",
        "event_type",
        "endpoint",
        "status",
        "attempts",
        "next_attempt_at",
        "last_status_code",
        "short_error",
        "created_at",
    )
    list_filter = ("status", "endpoint")
    list_select_related = ("event", "endpoint")
    search_fields = ("webhook_id",)
    readonly_fields = ("body",)
    inlines = [AttemptInline]
    actions = ["replay"]
    show_full_result_count = False

    @admin.display(description="Event", ordering="event__type")
    def event_type(self, delivery: Delivery) -> str:
        return delivery.event.type

    @admin.display(description="Last error")
    def short_error(self, delivery: Delivery) -> str:
        return Truncator(delivery.last_error).chars(80)

    @admin.display(description="Body")
    def body(self, delivery: Delivery) -> str:
        return format_html("<pre>{}</pre>", json.dumps(event_payload(delivery.event), indent=2, ensure_ascii=False))

    def has_replay_permission(self, request) -> bool:
        return request.user.is_active and request.user.is_staff and self.has_view_permission(request)

    @admin.action(description="Replay the selected deliveries now (same webhook-id)", permissions=["replay"])
    def replay(self, request, queryset):
        delivered = failed = 0
        refused: list[str] = []
        for delivery_id in queryset.order_by("pk").values_list("pk", flat=True):
            try:
                delivery = delivery_replay(delivery_id=delivery_id, now=timezone.now())
            except ApplicationError as error:
                refused.append(f"#{delivery_id}: {error.message}")
                continue
            if delivery.status == Delivery.Status.DELIVERED:
                delivered += 1
            else:
                failed += 1
        self.message_user(
            request,
            f"Replayed: {delivered} delivered, {failed} not (each attempt is on its delivery).",
            messages.SUCCESS if not failed else messages.WARNING,
        )
        if refused:
            self.message_user(request, "Not replayed: " + "; ".join(refused), messages.WARNING)
