"""The outbox and what is sent from it.

- ``Event``: one row per change, written in the database transaction of the change it reports (webhooks/outbox.py),
  so a rolled-back change leaves none and a committed one is never lost. The data is a snapshot in typed columns,
  given by the code that made the change: this app sits below carts and recovery and reads neither.
- ``Endpoint``: a URL staff want events sent to, the types it subscribes to, and the secret that signs them.
- ``Delivery``: one event for one endpoint, with its ``webhook-id`` (the same on every retry: the receiver's
  idempotency key) and where it stands; ``Attempt``: each try, as the receiver answered it.
"""

from django.db import models
from django.db.models import Q
from django.utils import timezone

from .addresses import validate_endpoint_url
from .signing import generate_secret


class EventType(models.TextChoices):
    """Every event type. A new one is a line here and its emitter; ``makemigrations`` then updates the constraint
    that keeps unknown types out of the table."""

    CART_ABANDONED = "cart.abandoned", "Cart abandoned"
    CART_RECOVERED = "cart.recovered", "Cart recovered"
    CART_CHECKED_OUT = "cart.checked_out", "Cart checked out"
    RECOVERY_EMAIL_SENT = "recovery_email.sent", "Recovery email sent"
    RECOVERY_EMAIL_CLICKED = "recovery_email.clicked", "Recovery email clicked"


class Event(models.Model):
    """Something that happened to a cart, waiting to be (or already) fanned out to the subscribed endpoints."""

    Type = EventType

    type = models.CharField(max_length=64, choices=Type.choices)
    occurred_at = models.DateTimeField(help_text="When the change happened (the body's timestamp).")
    # The snapshot. Plain columns, not foreign keys: an event outlives the cart it describes until it is pruned.
    cart_id = models.BigIntegerField()
    user_id = models.BigIntegerField(null=True, blank=True, help_text="Empty for a guest's cart.")
    email = models.CharField(max_length=254, blank=True, default="")
    status = models.CharField(max_length=16, help_text="The cart's status right after the change.")
    item_count = models.PositiveIntegerField()
    total = models.DecimalField(max_digits=14, decimal_places=2)
    step = models.PositiveSmallIntegerField(null=True, blank=True, help_text="The reminder's step, for email events.")
    # NULL, not "": the body says ``"coupon": null`` for a change no coupon took part in.
    coupon = models.CharField(max_length=100, null=True, blank=True)  # noqa: DJ001
    fanned_out_at = models.DateTimeField(
        null=True, blank=True, help_text="When its deliveries were created for the endpoints subscribed then."
    )

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(type__in=EventType.values), name="webhooks_event_type_known"),
        ]
        indexes = [
            # The fan-out's queue: only the few events not fanned out yet are in it.
            models.Index(fields=["id"], condition=Q(fanned_out_at__isnull=True), name="webhooks_event_to_fan_out"),
            # Retention: events by age.
            models.Index(fields=["occurred_at"], name="webhooks_event_occurred_at"),
        ]

    def __str__(self) -> str:
        return f"{self.type} for cart #{self.cart_id} at {self.occurred_at:%Y-%m-%d %H:%M:%S}"


class Endpoint(models.Model):
    """A receiver of the shop's: where events are POSTed, signed with its secret."""

    url = models.CharField(
        max_length=2000,
        validators=[validate_endpoint_url],
        help_text="Where events are POSTed: https (plain http only where private addresses are allowed).",
    )
    description = models.CharField(max_length=200, blank=True, default="")
    event_types = models.JSONField(
        default=list, blank=True, help_text="The event types sent to this endpoint; none selected means every type."
    )
    active = models.BooleanField(default=True, help_text="Inactive endpoints get no new events and no retries.")
    # Kept as given so it can sign (an HMAC needs the key itself); shown once, on creation and on rotation.
    secret = models.CharField(max_length=100, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.description or self.url

    def save(self, *args, **kwargs):
        if not self.secret:
            self.secret = generate_secret()
        super().save(*args, **kwargs)

    def subscribes_to(self, event_type: str) -> bool:
        return not self.event_types or event_type in self.event_types


class Delivery(models.Model):
    """One event for one endpoint. At least once: retried with exponential backoff until it is delivered or its
    retry window (webhooks/delivery.py) has passed."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERING = "delivering", "Delivering"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"

    FINISHED_STATUSES = (Status.DELIVERED, Status.FAILED)

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="deliveries")
    webhook_id = models.CharField(
        max_length=64, unique=True, help_text="The webhook-id header: the same on every retry and replay."
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField()
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # Who is sending it right now: the outcome is recorded against this claim only, so a process that lost its claim
    # (stuck, then taken over) cannot overwrite the newer outcome.
    claim = models.UUIDField(null=True, blank=True, editable=False)
    claimed_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(fields=["event", "endpoint"], name="webhooks_delivery_once_per_endpoint"),
            models.CheckConstraint(
                condition=Q(status__in=["pending", "delivering", "delivered", "failed"]),
                name="webhooks_delivery_status_valid",
            ),
            models.CheckConstraint(
                condition=~Q(status="pending") | Q(next_attempt_at__isnull=False),
                name="webhooks_delivery_pending_has_next_attempt",
            ),
            models.CheckConstraint(
                condition=~Q(status="delivering") | Q(claim__isnull=False, claimed_at__isnull=False),
                name="webhooks_delivery_delivering_is_claimed",
            ),
            models.CheckConstraint(
                condition=~Q(status="delivered") | Q(delivered_at__isnull=False),
                name="webhooks_delivery_delivered_has_delivered_at",
            ),
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="webhooks_delivery_due")]

    def __str__(self) -> str:
        return f"{self.webhook_id} ({self.status})"


class Attempt(models.Model):
    """One POST of a delivery and how it went."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    attempted_at = models.DateTimeField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Empty when nothing answered.")
    latency_ms = models.PositiveIntegerField()
    response_excerpt = models.TextField(blank=True, default="", help_text="The first 1 KB of the answer.")
    error = models.TextField(blank=True, default="", help_text="Empty for a 2xx answer.")
    replay = models.BooleanField(default=False, help_text="Made by a member of staff's replay.")

    class Meta:
        ordering = ["attempted_at", "id"]

    def __str__(self) -> str:
        return f"Attempt at {self.attempted_at:%Y-%m-%d %H:%M:%S}: {self.status_code or self.error[:40]}"
