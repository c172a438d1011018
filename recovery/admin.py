"""The reminders in the admin: the shop's identity, the campaigns staff edit (with a preview and a test send), every
reminder with what it said, and on a cart's page its reminders and "send the next reminder now"."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.core.mail import get_connection
from django.db import models, transaction
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import Truncator

from carts.admin import CartAdmin, CartColumnsMixin
from carts.models import Cart
from core.admin import OverflowSafeChangeListMixin, ReadOnlyAdmin

from . import campaigns, previews
from .models import Campaign, CampaignStep, RecoveryEmail, Shop
from .policies import shows_an_email
from .sending import NothingToSend, recovery_emails_resend, reminder_send_now
from .shop import SHOP_FIELDS, current_shop
from .templating import PLACEHOLDERS

# --- the shop's identity ------------------------------------------------------------------------------------------


@admin.register(Shop)
class ShopAdmin(OverflowSafeChangeListMixin, admin.ModelAdmin):
    """One row: the list opens it, there is nothing to add or delete."""

    fields = SHOP_FIELDS
    # A URL typed without a scheme is a shop's site: https (Django 6's default; 5.2 still warns and assumes http).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def changelist_view(self, request, extra_context=None):
        if request.GET:  # a filtered list (or the admin's "bad lookup" page): the plain changelist answers it
            return super().changelist_view(request, extra_context)
        shop = current_shop()
        return HttpResponseRedirect(reverse("admin:recovery_shop_change", args=[shop.pk]))


# --- campaigns ----------------------------------------------------------------------------------------------------

# Where a step waits while the others of its campaign are saved (positions are unique; the column is a smallint).
FREE_POSITION = 32_767
PLACEHOLDER_HELP = "Placeholders: " + ", ".join("{{ " + name + " }}" for name in PLACEHOLDERS if "." not in name)


class CampaignStepForm(forms.ModelForm):
    class Meta:
        model = CampaignStep
        fields = (
            "position",
            "delay_seconds",
            "subject",
            "preheader",
            "body_html",
            "body_text",
            "is_active",
            "offer_kind",
            "offer_value",
            "offer_min_total",
            "offer_valid_days",
        )
        help_texts = {"body_html": PLACEHOLDER_HELP, "body_text": PLACEHOLDER_HELP}
        widgets = {
            "body_html": forms.Textarea(attrs={"rows": 12, "cols": 100}),
            "body_text": forms.Textarea(attrs={"rows": 10, "cols": 100}),
            "subject": forms.TextInput(attrs={"size": 80}),
            "preheader": forms.TextInput(attrs={"size": 80}),
        }

    def clean(self):
        cleaned = super().clean()
        position = cleaned.get("position")
        for field in campaigns.TEXT_FIELDS:
            if cleaned.get(field) is not None:
                try:
                    campaigns.check_step_text(field=field, source=cleaned[field], position=position)
                except ValidationError as problem:
                    self.add_error(field, problem)
        if cleaned.get("delay_seconds") is not None:
            try:
                campaigns.check_delay(cleaned["delay_seconds"])
            except ValidationError as problem:
                self.add_error("delay_seconds", problem)
        if cleaned.get("offer_kind"):
            value, days = cleaned.get("offer_value"), cleaned.get("offer_valid_days")
            if value is None or value <= 0:
                self.add_error("offer_value", "An offer needs a value above 0.")
            elif cleaned["offer_kind"] == "percent" and value > 100:
                self.add_error("offer_value", "A percent off is at most 100.")
            if not days or not 1 <= days <= 365:
                self.add_error("offer_valid_days", "An offer works for 1 to 365 days.")
        return cleaned


class CampaignStepFormSet(forms.BaseInlineFormSet):
    def clean(self):
        super().clean()
        steps = [
            (form.cleaned_data["position"], form.cleaned_data["delay_seconds"], form.cleaned_data.get("is_active"))
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE") and "position" in form.cleaned_data
            and "delay_seconds" in form.cleaned_data
        ]  # fmt: skip
        problems = campaigns.schedule_problems(steps)
        if problems:
            raise ValidationError(problems)


class CampaignStepInline(admin.StackedInline):
    model = CampaignStep
    form = CampaignStepForm
    formset = CampaignStepFormSet
    extra = 0
    ordering = ("position",)

    def has_delete_permission(self, request, obj=None) -> bool:
        # A step with reminders is switched off instead: its emails keep their step (the database protects it).
        return super().has_delete_permission(request, obj)


class CampaignForm(forms.ModelForm):
    class Meta:
        model = Campaign
        fields = ("name", "is_active", "holdout_percent")

    def clean_is_active(self):
        is_active = self.cleaned_data["is_active"]
        if is_active:
            other = Campaign.objects.filter(is_active=True).exclude(pk=self.instance.pk).first()
            if other is not None:
                raise ValidationError(
                    f"“{other.name}” is the active campaign: switch it off first, or use the action "
                    "“Make the selected campaign the active one”."
                )
        return is_active


@admin.register(Campaign)
class CampaignAdmin(OverflowSafeChangeListMixin, admin.ModelAdmin):
    form = CampaignForm
    inlines = [CampaignStepInline]
    list_display = ("name", "is_active", "holdout_percent", "step_summary", "updated_at")
    actions = ["make_active"]
    change_form_template = "admin/recovery/campaign/change_form.html"

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("steps")

    @admin.display(description="Steps")
    def step_summary(self, campaign: Campaign) -> str:
        steps = sorted(campaign.steps.all(), key=lambda step: step.position)
        return ", ".join(
            f"{step.position}: after {previews.describe_delay(step.delay_seconds)}"
            + ("" if step.is_active else " (off)")
            for step in steps
        )

    def save_model(self, request, obj, form, change):
        switched_off = change and "is_active" in form.changed_data and not obj.is_active
        if change and "is_active" in form.changed_data and obj.is_active:
            obj.activated_at = timezone.now()  # switched on again: its carts are those abandoned from now on
        super().save_model(request, obj, form, change)
        if switched_off:
            cancelled = campaigns.campaign_switched_off(campaign=obj)
            if cancelled:
                self.message_user(request, f"{cancelled} reminder(s) not sent yet were cancelled.", messages.WARNING)

    def save_formset(self, request, form, formset, change):
        switched_off = [
            step_form.instance
            for step_form in formset.forms
            if step_form.instance.pk and "is_active" in step_form.changed_data and not step_form.instance.is_active
        ]
        # Free what is unique in the database first (a step's position; an active step's delay): a step that moves,
        # changes its delay, is switched off or removed lets another step take its position or delay, whatever the
        # order the forms are saved in. Saving the forms gives every changed step its values back.
        for offset, step_form in enumerate(formset.initial_forms):
            if step_form in formset.deleted_forms or step_form.has_changed():
                CampaignStep.objects.filter(pk=step_form.instance.pk).update(
                    position=FREE_POSITION - offset, is_active=False
                )
        super().save_formset(request, form, formset, change)
        cancelled = sum(campaigns.step_switched_off(step=step) for step in switched_off)
        if cancelled:
            self.message_user(request, f"{cancelled} reminder(s) not sent yet were cancelled.", messages.WARNING)

    @admin.action(description="Make the selected campaign the active one", permissions=["change"])
    def make_active(self, request, queryset):
        chosen = list(queryset[:2])
        if len(chosen) != 1:
            self.message_user(request, "Select exactly one campaign.", messages.ERROR)
            return
        with transaction.atomic():
            campaigns.campaign_activate(campaign=chosen[0])
        self.message_user(request, f"“{chosen[0].name}” is now the active campaign.", messages.SUCCESS)

    def get_urls(self):
        return [
            path(
                "<int:campaign_id>/preview/",
                self.admin_site.admin_view(self.preview_view),
                name="recovery_campaign_preview",
            ),
            *super().get_urls(),
        ]

    @shows_an_email
    def preview_view(self, request, campaign_id: int):
        """A step rendered with a real cart (``?cart=``) or a sample one, HTML and text side by side; POST sends it
        to the staff member's own address and records nothing as a reminder."""
        campaign = get_object_or_404(Campaign, pk=campaign_id)
        if not self.has_view_permission(request, campaign):
            raise PermissionError
        steps = list(campaign.steps.order_by("position"))
        step = next((s for s in steps if str(s.position) == request.GET.get("step", "")), steps[0] if steps else None)
        cart = None
        cart_id = request.GET.get("cart", "")
        if cart_id.isdigit():
            cart = Cart.objects.filter(pk=int(cart_id)).first()
            if cart is None:
                self.message_user(request, f"There is no cart #{cart_id}: the sample cart is shown.", messages.WARNING)
        rendered = previews.render_step(step=step, cart=cart) if step is not None else None
        if request.method == "POST" and rendered is not None:
            message = previews.test_message(rendered=rendered, to=request.user.email)
            try:
                get_connection(fail_silently=False).send_messages([message])
            except Exception as exc:
                self.message_user(request, f"The test could not be sent: {exc}", messages.ERROR)
            else:
                self.message_user(
                    request, f"A test of step {step.position} was sent to {request.user.email}.", messages.SUCCESS
                )
            return HttpResponseRedirect(request.get_full_path())
        return TemplateResponse(
            request,
            "admin/recovery/campaign/preview.html",
            {
                **self.admin_site.each_context(request),
                "title": f"Preview of “{campaign.name}”",
                "opts": self.model._meta,
                "campaign": campaign,
                "steps": steps,
                "step": step,
                "cart": cart,
                "rendered": rendered,
            },
        )


# --- reminders ----------------------------------------------------------------------------------------------------


class ErrorAndNoteColumns:
    """A reminder's last error and its note, each in its own column: a skip or a cancellation is not an error."""

    column_chars = 60

    @admin.display(description="Last error")
    def error(self, email: RecoveryEmail) -> str:
        return Truncator(email.last_error).chars(self.column_chars)

    @admin.display(description="Note")
    def short_note(self, email: RecoveryEmail) -> str:
        return Truncator(email.note).chars(self.column_chars)


@admin.register(RecoveryEmail)
class RecoveryEmailAdmin(CartColumnsMixin, ErrorAndNoteColumns, ReadOnlyAdmin):
    """Every reminder, read-only: to whom, what it said, its delivery state and why it was skipped or failed. Failed
    ones can be queued again."""

    list_display = (
        "id",
        "cart_link",
        "to",
        "step",
        "status",
        "short_subject",
        "sent_at",
        "clicked_at",
        "attempts",
        "error",
        "short_note",
    )
    list_filter = ("status", "step", "campaign_step__campaign")
    column_chars = 40
    search_fields = ("cart__user__email", "recipient")
    list_select_related = ("cart__user",)
    date_hierarchy = "planned_at"
    actions = ["resend_failed"]
    show_full_result_count = False

    class Media:
        css = {"all": ["recovery/admin.css"]}

    fieldsets = (
        (None, {"fields": ("cart_link", "to", "step", "campaign_step", "status", "requested_by")}),
        ("Message", {"fields": ("subject", "text_part", "html_part")}),
        (
            "Delivery",
            {"fields": ("planned_at", "claimed_at", "sent_at", "attempts", "next_attempt_at", "last_error", "note")},
        ),
        ("Shopper", {"fields": ("clicked_at",)}),
    )
    readonly_fields = (
        "cart_link",
        "to",
        "step",
        "campaign_step",
        "status",
        "requested_by",
        "subject",
        "text_part",
        "html_part",
        "planned_at",
        "claimed_at",
        "sent_at",
        "attempts",
        "next_attempt_at",
        "last_error",
        "note",
        "clicked_at",
    )

    @admin.display(description="To", ordering="recipient")
    @shows_an_email
    def change_view(self, request, object_id, form_url="", extra_context=None):
        return super().change_view(request, object_id, form_url, extra_context)

    def to(self, email: RecoveryEmail) -> str:
        return email.recipient or email.cart.user.email

    @admin.display(description="Subject")
    def short_subject(self, email: RecoveryEmail) -> str:
        return Truncator(email.subject).chars(50)

    @admin.display(description="Text part")
    def text_part(self, email: RecoveryEmail):
        if not email.body_text:
            return "Not sent yet: it is rendered from its step when it goes out."
        return format_html('<pre class="email-text">{}</pre>', email.body_text)

    @admin.display(description="HTML part")
    def html_part(self, email: RecoveryEmail):
        if not email.body_html:
            return "—"
        # In a sandboxed frame: the email's own markup, isolated from the admin (no scripts, no same origin).
        return format_html(
            '<iframe class="email-html" sandbox srcdoc="{}" title="The HTML part as sent"></iframe>', email.body_html
        )

    def has_resend_permission(self, request) -> bool:
        return request.user.is_active and request.user.is_staff and self.has_view_permission(request)

    @admin.action(description="Queue the selected failed emails again (sent at the next run)", permissions=["resend"])
    def resend_failed(self, request, queryset):
        report = recovery_emails_resend(
            email_ids=list(queryset.values_list("pk", flat=True)), now=timezone.now(), staff=request.user
        )
        if report.queued:
            self.message_user(
                request,
                f"{len(report.queued)} email(s) queued; the scheduler sends them at its next run.",
                messages.SUCCESS,
            )
        for email_id, reason in report.refused.items():
            self.message_user(request, f"Email #{email_id} will not be sent again: {reason}.", messages.WARNING)


# --- a cart's reminders, on the cart's page ---------------------------------------------------------------------------


class RecoveryEmailInline(ErrorAndNoteColumns, admin.TabularInline):
    model = RecoveryEmail
    column_chars = 80
    extra = 0
    can_delete = False
    fields = ("link", "step", "subject", "status", "sent_at", "clicked_at", "error", "short_note")
    readonly_fields = fields
    ordering = ("step",)
    verbose_name_plural = "Reminders"

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="Reminder")
    def link(self, email: RecoveryEmail):
        return format_html(
            '<a href="{}">#{}</a>', reverse("admin:recovery_recoveryemail_change", args=[email.pk]), email.pk
        )


class CartWithRemindersAdmin(CartAdmin):
    inlines = [*CartAdmin.inlines, RecoveryEmailInline]
    actions = [*(CartAdmin.actions or []), "send_next_reminder_now"]

    def has_send_reminder_permission(self, request) -> bool:
        return request.user.is_active and request.user.is_staff and request.user.has_perm("recovery.view_recoveryemail")

    @admin.action(description="Send the next reminder now", permissions=["send_reminder"])
    def send_next_reminder_now(self, request, queryset):
        now = timezone.now()
        for cart_id in queryset.order_by("pk").values_list("pk", flat=True):
            try:
                email = reminder_send_now(cart_id=cart_id, staff=request.user, now=now)
            except NothingToSend as refusal:
                self.message_user(request, f"Nothing sent for cart #{cart_id}: {refusal.message}", messages.WARNING)
                continue
            if email.status == RecoveryEmail.Status.SENT:
                self.message_user(request, f"Cart #{cart_id}: step {email.step} sent to {email.recipient}.")
            else:
                self.message_user(
                    request,
                    f"Cart #{cart_id}: step {email.step} could not be sent ({email.last_error}); it will be retried.",
                    messages.ERROR,
                )


admin.site.unregister(Cart)
admin.site.register(Cart, CartWithRemindersAdmin)
