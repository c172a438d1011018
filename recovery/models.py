from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from .validators import SenderValidator, WebAddressValidator, one_line

# A reminder step waits at least a second and at most this long after the abandonment.
MAX_STEP_DELAY = timedelta(days=90)


class Shop(models.Model):
    """The shop's identity, shown in every reminder and on every page a shopper opens (one row; staff edit it in the
    admin; the environment gives its first values: recovery/shop.py)."""

    name = models.CharField(
        max_length=100, validators=[one_line], help_text="How the shop is named in emails and on the shopper's pages."
    )
    storefront_url = models.URLField(
        max_length=500,
        validators=[WebAddressValidator()],
        help_text="The shop's website: where the recovery page leads.",
    )
    logo_url = models.URLField(
        max_length=500,
        blank=True,
        validators=[WebAddressValidator()],
        help_text="An image shown at the top of emails and pages.",
    )
    address = models.TextField(
        max_length=500,
        blank=True,
        help_text="The postal address, which every reminder carries (the law in most places).",
    )
    support_email = models.EmailField(blank=True, help_text="Where shoppers can write with questions.")
    from_email = models.CharField(
        max_length=254,
        validators=[SenderValidator()],
        help_text='The sender of the reminders: an address, or "Shop name <address>".',
    )
    reply_to = models.EmailField(blank=True, help_text="Where answers to a reminder go (empty: to the sender).")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "shop identity"
        verbose_name_plural = "shop identity"
        constraints = [models.CheckConstraint(condition=Q(id=1), name="recovery_shop_is_one_row")]

    def __str__(self) -> str:
        return self.name


class Campaign(models.Model):
    """A schedule of reminder steps that staff edit. At most one campaign is active: its active steps are sent."""

    name = models.CharField(max_length=100, unique=True, validators=[one_line])
    is_active = models.BooleanField(
        default=False, help_text="Only one campaign is active at a time; activating this one switches the other off."
    )
    holdout_percent = models.PositiveSmallIntegerField(
        default=0,
        db_default=0,
        help_text="Share of the carts abandoned under this campaign that get no reminders (0–50 %), drawn once per "
        "cart: the report compares them with the others to show what the reminders really earn.",
    )
    activated_at = models.DateTimeField(
        null=True, blank=True, help_text="When it last became the active campaign: carts abandoned since are its own."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-is_active", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(holdout_percent__gte=0, holdout_percent__lte=50), name="recovery_campaign_holdout_range"
            ),
            models.UniqueConstraint(
                fields=["is_active"],
                condition=Q(is_active=True),
                name="recovery_campaign_one_active",
                violation_error_message="Another campaign is active: switch it off first.",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        # Its carts (for the holdout) are those abandoned since it became active; a campaign made active directly
        # (the admin's form, a fixture) starts now. recovery/campaigns.py sets it on every activation.
        if self.is_active and self.activated_at is None:
            self.activated_at = timezone.now()
            if kwargs.get("update_fields") is not None:
                kwargs["update_fields"] = {*kwargs["update_fields"], "activated_at"}
        super().save(*args, **kwargs)


class CampaignStep(models.Model):
    """One reminder of a campaign: when it goes out (after the abandonment) and what it says. The texts are staff
    templates (recovery/templating.py), checked when saved and rendered when the reminder is sent."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField(help_text="1 for the first reminder, 2 for the second, …")
    delay_seconds = models.PositiveIntegerField(help_text="Seconds after the abandonment (at most 90 days).")
    subject = models.CharField(max_length=200)
    preheader = models.CharField(
        max_length=200, blank=True, help_text="The line mail apps show after the subject in the inbox."
    )
    body_html = models.TextField(verbose_name="HTML body")
    body_text = models.TextField(verbose_name="text body")
    is_active = models.BooleanField(default=True)

    class OfferKind(models.TextChoices):
        NONE = "", "No offer"
        PERCENT = "percent", "Percent off"
        AMOUNT = "amount", "Amount off"

    # The step's offer: each email of the step gets its own single-use coupon (recovery/coupons.py).
    offer_kind = models.CharField(max_length=8, choices=OfferKind.choices, blank=True, default="", db_default="")
    offer_value = models.DecimalField(
        max_digits=10, decimal_places=2, null=True, blank=True, help_text="Percent (1–100) or amount off."
    )
    offer_min_total = models.DecimalField(
        max_digits=14, decimal_places=2, null=True, blank=True, help_text="The cart must be worth at least this."
    )
    offer_valid_days = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Days the coupon works after the email is sent."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["campaign", "position"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "position"], name="recovery_campaignstep_position_once"),
            models.UniqueConstraint(
                fields=["campaign", "delay_seconds"],
                condition=Q(is_active=True),
                name="recovery_campaignstep_active_delay_once",
                violation_error_message="Another active step of this campaign has the same delay.",
            ),
            models.CheckConstraint(condition=Q(position__gte=1), name="recovery_campaignstep_position_positive"),
            models.CheckConstraint(
                condition=Q(delay_seconds__gte=1, delay_seconds__lte=int(MAX_STEP_DELAY.total_seconds())),
                name="recovery_campaignstep_delay_range",
            ),
            models.CheckConstraint(
                condition=Q(offer_kind="")
                | (
                    Q(offer_value__gt=0, offer_valid_days__gte=1, offer_valid_days__lte=365)
                    & (~Q(offer_kind="percent") | Q(offer_value__lte=100))
                ),
                name="recovery_campaignstep_offer_complete",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.campaign.name}, step {self.position}"

    @property
    def has_offer(self) -> bool:
        return bool(self.offer_kind)


class RecoveryEmail(models.Model):
    """One reminder for one cart at one step; never two for a step (``step`` is the step's position, so a cart that
    had step 1 of a campaign gets step 2 of the next one, never a second step 1).

    Moved here from the carts app (recovery/migrations/0001): the table, its rows, its constraints' names and the
    staff permissions on it were kept."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    cart = models.ForeignKey("carts.Cart", on_delete=models.CASCADE, related_name="recovery_emails")
    step = models.PositiveSmallIntegerField(help_text="The reminder's position in its campaign, from 1.")
    campaign_step = models.ForeignKey(
        CampaignStep,
        on_delete=models.PROTECT,  # a step with reminders is switched off, not deleted: its emails keep their step
        null=True,
        blank=True,
        related_name="emails",
        help_text="The step it was planned for: its texts as they are when the email is sent.",
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    planned_at = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)
    attempt_started_at = models.DateTimeField(
        null=True, blank=True, help_text="When the message of the current claim was handed to the mail server."
    )
    sent_at = models.DateTimeField(null=True, blank=True)
    # Database defaults on the columns the planner's INSERT … SELECT leaves out (recovery/planning.py).
    attempts = models.PositiveSmallIntegerField(default=0, db_default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="", db_default="", help_text="The last failure to send, if any.")
    note = models.CharField(
        max_length=300,
        blank=True,
        default="",
        db_default="",
        help_text="Why it was skipped, cancelled, deferred or queued again.",
    )
    clicked_at = models.DateTimeField(null=True, blank=True, help_text="First time its recovery link was used.")
    recipient = models.EmailField(
        max_length=254, blank=True, default="", db_default="", help_text="The address it went to."
    )
    recipient_domain = models.CharField(max_length=254, blank=True, default="", db_default="")
    subject = models.CharField(
        max_length=300, blank=True, default="", db_default="", help_text="The subject it went out with."
    )
    body_text = models.TextField(blank=True, default="", db_default="", help_text="The text part it went out with.")
    body_html = models.TextField(blank=True, default="", db_default="", help_text="The HTML part it went out with.")
    coupon = models.OneToOneField(
        "carts.Coupon",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="email",
        help_text="The single-use code this email offers, if its step has an offer.",
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The staff member who sent it by hand, if one did.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-planned_at", "-id"]
        # Named when the model lived in the carts app; names only, kept so the move changed nothing in the database.
        constraints = [
            models.UniqueConstraint(fields=["cart", "step"], name="carts_recoveryemail_once_per_step"),
            models.CheckConstraint(
                condition=Q(status__in=["pending", "sending", "sent", "failed", "cancelled"]),
                name="carts_recoveryemail_status_valid",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="carts_recoveryemail_due"),
            # The hourly cap per destination domain counts the domain's recent sends.
            models.Index(
                fields=["recipient_domain", "sent_at"],
                condition=Q(status="sent"),
                name="recovery_email_sent_per_domain",
            ),
        ]

    def __str__(self) -> str:
        return f"Step {self.step} for cart #{self.cart_id} ({self.get_status_display()})"


class StepFigures(models.Model):
    """The funnel per step, kept per 15-minute bucket of the emails' ``sent_at`` as they are sent, clicked and their
    carts bought (recovery/figures.py): what the report's funnel sums. ``kind`` "pruned": of carts retention deleted."""

    bucket = models.BigIntegerField()
    step = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=8, default="live")
    sent = models.IntegerField(default=0)
    clicked = models.IntegerField(default=0)
    recovered = models.IntegerField(default=0)
    revenue = models.DecimalField(max_digits=18, decimal_places=2, default=Decimal("0.00"))
    coupon_cost = models.DecimalField(max_digits=18, decimal_places=2, default=Decimal("0.00"))

    class Meta:
        constraints = [models.UniqueConstraint(fields=["bucket", "step", "kind"], name="recovery_stepfigures_one_row")]

    def __str__(self) -> str:
        return f"Step {self.step} figures of bucket {self.bucket} ({self.kind})"
