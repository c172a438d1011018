from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from core.money import format_money

# The database's own ceiling for a line's quantity. The business limit, settings.CART_MAX_QUANTITY, is checked by
# the services (it is a setting, so it cannot live in a migration); this one only stops absurd rows.
QUANTITY_CEILING = 1_000_000


# The largest total a cart's column holds (14 digits, 2 after the point). SQLite does not enforce a decimal's digits:
# a larger total would be stored, then fail every read of the cart. The services refuse it; a constraint keeps it.
MAX_CART_TOTAL = Decimal("999999999999.99")


class Cart(models.Model):
    """A shopper's cart. At most one per user is open (active or abandoned) at a time."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        ABANDONED = "abandoned", "Abandoned"
        CHECKED_OUT = "checked_out", "Checked out"

    class RecoverySource(models.TextChoices):
        EMAIL_LINK = "email_link", "Via email link"
        RETURNED = "returned", "Came back on their own"

    class RecoveryGroup(models.TextChoices):
        """The experiment a cart is part of from its first abandonment under a campaign with a holdout share."""

        TREATED = "treated", "Treated (gets reminders)"
        HOLDOUT = "holdout", "Holdout (no reminders)"

    OPEN_STATUSES = (Status.ACTIVE, Status.ABANDONED)

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="carts")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(default=timezone.now)
    last_updated = models.DateTimeField(
        default=timezone.now, help_text="Last add, remove or checkout, or the shopper's return after an abandonment."
    )
    abandoned_at = models.DateTimeField(
        null=True, blank=True, help_text="When the sweep last marked this cart abandoned (kept after recovery)."
    )
    recovered_at = models.DateTimeField(
        null=True, blank=True, help_text="When the shopper first came back after an abandonment."
    )
    recovery_source = models.CharField(max_length=16, choices=RecoverySource.choices, blank=True, default="")
    checked_out_at = models.DateTimeField(null=True, blank=True)
    # Kept equal to the sum of the lines by every service that changes a line, inside the same transaction, so
    # the sweep can snapshot them and the report can sum them without touching the lines table.
    item_count = models.PositiveIntegerField(default=0, help_text="Units in the cart (sum of line quantities).")
    total = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0.00"))
    discount = models.DecimalField(
        max_digits=14, decimal_places=2, default=Decimal("0.00"), db_default=Decimal("0.00"),
        help_text="What a coupon took off at checkout.",
    )  # fmt: skip
    paid = models.DecimalField(
        max_digits=14, decimal_places=2, null=True, blank=True, help_text="What the shopper paid: total − discount."
    )
    recovery_group = models.CharField(
        max_length=8, choices=RecoveryGroup.choices, blank=True, default="", db_default="",
        help_text="Treated or holdout, drawn once at the cart's first abandonment under a campaign with a holdout.",
    )  # fmt: skip

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user"],
                condition=Q(status__in=["active", "abandoned"]),
                name="carts_cart_one_open_cart_per_user",
                violation_error_message="This user already has an open cart.",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["active", "abandoned", "checked_out"]), name="carts_cart_status_valid"
            ),
            models.CheckConstraint(
                condition=~Q(status="abandoned") | Q(abandoned_at__isnull=False),
                name="carts_cart_abandoned_has_abandoned_at",
            ),
            models.CheckConstraint(
                condition=~Q(status="checked_out") | Q(checked_out_at__isnull=False),
                name="carts_cart_checked_out_has_checked_out_at",
            ),
            models.CheckConstraint(condition=Q(total__gte=0), name="carts_cart_total_not_negative"),
            models.CheckConstraint(condition=Q(total__lte=MAX_CART_TOTAL), name="carts_cart_total_fits_its_column"),
            models.CheckConstraint(
                condition=Q(discount__gte=0) & Q(discount__lte=models.F("total")), name="carts_cart_discount_in_total"
            ),
            models.CheckConstraint(
                condition=Q(status="checked_out") | Q(paid__isnull=True), name="carts_cart_paid_only_at_checkout"
            ),
            models.CheckConstraint(
                condition=Q(recovery_group__in=["", "treated", "holdout"]), name="carts_cart_recovery_group_valid"
            ),
        ]
        indexes = [
            # The sweep: active carts by age. Partial, so marking a cart abandoned only removes its entry (an index on
            # (status, last_updated) would also insert one for every marked cart: twice the work, the sweep's
            # largest cost at 900,000 stale carts).
            models.Index(fields=["last_updated"], condition=Q(status="active"), name="carts_cart_active_updated"),
            # The report: carts ever abandoned, newest first, filtered by period (the leading column), and its
            # figures, which read only these columns: aggregates over a period of abandonments, and the count of
            # carts checked out without abandonment, run as index-only scans instead of visiting 200,000+ rows.
            # Every index here is rewritten for each cart the sweep marks, so there is no separate (abandoned_at)
            # or (checked_out_at) index: this one and the partial one below answer those queries.
            models.Index(
                fields=["abandoned_at", "status", "checked_out_at", "recovery_source", "total"],
                name="carts_cart_report_cover",
            ),
            # The same count on PostgreSQL, whose planner prefers this small partial index (SQLite uses the one above).
            models.Index(
                fields=["checked_out_at"],
                condition=Q(abandoned_at__isnull=True, status="checked_out"),
                name="carts_cart_bought_unabandoned",
            ),
        ]

    def __str__(self) -> str:
        return f"Cart #{self.pk} ({self.get_status_display()})"


class CartItem(models.Model):
    """One line of a cart: an item, how many, and the unit price when it was first added."""

    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="lines")
    item = models.ForeignKey("catalog.Item", on_delete=models.PROTECT, related_name="cart_lines")
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(max_digits=10, decimal_places=2)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["cart", "item"], name="carts_cartitem_one_line_per_item"),
            models.CheckConstraint(
                condition=Q(quantity__gte=1) & Q(quantity__lte=QUANTITY_CEILING), name="carts_cartitem_quantity_range"
            ),
            models.CheckConstraint(condition=Q(unit_price__gt=0), name="carts_cartitem_unit_price_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.item.name} at {format_money(self.unit_price)}"

    @property
    def line_total(self) -> Decimal:
        return self.unit_price * self.quantity


class AbandonmentLog(models.Model):
    """The record of a cart's (first) abandonment: written once per cart, ever."""

    cart = models.OneToOneField(Cart, on_delete=models.CASCADE, related_name="abandonment_log")
    abandoned_at = models.DateTimeField()
    item_count = models.PositiveIntegerField()
    total = models.DecimalField(max_digits=14, decimal_places=2)

    class Meta:
        ordering = ["-abandoned_at", "-id"]
        indexes = [models.Index(fields=["abandoned_at"], name="carts_abandonmentlog_at")]

    def __str__(self) -> str:
        return f"Cart #{self.cart_id} abandoned at {self.abandoned_at:%Y-%m-%d %H:%M}"


class Coupon(models.Model):
    """A single-use code a reminder offers (recovery/coupons.py issues it); checkout redeems it (carts/services.py)."""

    class Kind(models.TextChoices):
        PERCENT = "percent", "Percent off"
        AMOUNT = "amount", "Amount off"

    code = models.CharField(max_length=16, unique=True)
    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="coupons", help_text="Issued for this cart.")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    value = models.DecimalField(max_digits=10, decimal_places=2)
    min_total = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    expires_at = models.DateTimeField()
    redeemed_at = models.DateTimeField(null=True, blank=True)
    redeemed_cart = models.OneToOneField(
        Cart, on_delete=models.SET_NULL, null=True, blank=True, related_name="redeemed_coupon"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(value__gt=0), name="carts_coupon_value_positive"),
            models.CheckConstraint(
                condition=~Q(kind="percent") | Q(value__lte=100), name="carts_coupon_percent_at_most_100"
            ),
            models.CheckConstraint(condition=Q(kind__in=["percent", "amount"]), name="carts_coupon_kind_valid"),
        ]

    def __str__(self) -> str:
        return self.code

    def status_at(self, now) -> str:
        if self.redeemed_at is not None:
            return "redeemed"
        return "expired" if now >= self.expires_at else "issued"

    def offer_text(self) -> str:
        if self.kind == self.Kind.PERCENT:
            return f"{self.value.normalize():f} % off"
        return f"{format_money(self.value)} off"


class CartFigures(models.Model):
    """The report's figures, kept per 15-minute bucket of the carts' abandonment (and of checkout for carts never
    abandoned), per recovery group, as the services change carts (carts/figures.py). The report sums buckets
    instead of scanning carts, so its cost grows with the days of the period, not with the carts. ``kind`` "pruned"
    holds the part of carts that retention deleted: the history stays exact."""

    class Kind(models.TextChoices):
        LIVE = "live", "Carts in the database"
        PRUNED = "pruned", "Carts deleted by retention"

    bucket = models.BigIntegerField(help_text="Start of the 15 minutes, in seconds since 1970 UTC, divided by 900.")
    recovery_group = models.CharField(max_length=8, blank=True, default="")
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.LIVE)
    abandoned = models.IntegerField(default=0)
    still_abandoned = models.IntegerField(default=0)
    revenue_left = models.DecimalField(max_digits=18, decimal_places=2, default=Decimal("0.00"))
    came_back = models.IntegerField(default=0)
    recovered = models.IntegerField(default=0)
    recovered_revenue = models.DecimalField(max_digits=18, decimal_places=2, default=Decimal("0.00"))
    recovered_discount = models.DecimalField(max_digits=18, decimal_places=2, default=Decimal("0.00"))
    via_email = models.IntegerField(default=0)
    via_email_revenue = models.DecimalField(max_digits=18, decimal_places=2, default=Decimal("0.00"))
    bought_unabandoned = models.IntegerField(default=0, help_text="Carts checked out in the bucket, never abandoned.")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["bucket", "recovery_group", "kind"], name="carts_cartfigures_one_row"),
        ]

    def __str__(self) -> str:
        return f"Figures of bucket {self.bucket} ({self.recovery_group or 'no group'}, {self.kind})"
