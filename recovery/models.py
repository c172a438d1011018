from django.db import models
from django.db.models import Q


class RecoveryEmail(models.Model):
    """One reminder for one cart at one step of settings.CART_RECOVERY_EMAIL_STEPS; never two for a step.

    Moved here from the carts app (recovery/migrations/0001): the table, its rows, its constraints' names and the
    staff permissions on it were kept."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    cart = models.ForeignKey("carts.Cart", on_delete=models.CASCADE, related_name="recovery_emails")
    step = models.PositiveSmallIntegerField(help_text="Position in CART_RECOVERY_EMAIL_STEPS, from 1.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    planned_at = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    clicked_at = models.DateTimeField(null=True, blank=True, help_text="First time its recovery link was opened.")
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
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="carts_recoveryemail_due")]

    def __str__(self) -> str:
        return f"Step {self.step} for cart #{self.cart_id} ({self.status})"
