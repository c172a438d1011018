from decimal import Decimal

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.fields import StrictBooleanField, StrictCharField, StrictDecimalField, StrictIntegerField
from recovery import campaigns
from recovery.models import MAX_STEP_DELAY, Campaign, CampaignStep, RecoveryEmail, Shop
from recovery.templating import MAX_BODY_BYTES
from recovery.validators import one_line


class CouponStateSerializer(serializers.Serializer):
    code = serializers.CharField()
    status = serializers.ChoiceField(choices=["issued", "redeemed", "expired"])
    expires_at = serializers.DateTimeField()


class RecoveryEmailSerializer(serializers.ModelSerializer):
    cart_id = serializers.IntegerField(read_only=True)
    coupon = serializers.SerializerMethodField()

    @extend_schema_field(CouponStateSerializer(allow_null=True))
    def get_coupon(self, email: RecoveryEmail) -> dict | None:
        coupon = email.coupon
        if coupon is None:
            return None
        return {"code": coupon.code, "status": coupon.status_at(timezone.now()), "expires_at": coupon.expires_at}

    class Meta:
        model = RecoveryEmail
        fields = [
            "id",
            "cart_id",
            "step",
            "status",
            "recipient",
            "subject",
            "planned_at",
            "claimed_at",
            "sent_at",
            "attempts",
            "next_attempt_at",
            "last_error",
            "note",
            "clicked_at",
            "coupon",
            "created_at",
        ]
        read_only_fields = fields


def _django_errors(error: DjangoValidationError) -> list[str]:
    return [str(message) for message in error.messages]


class OfferSerializer(serializers.Serializer):
    """A step's offer: each email of the step gets its own single-use coupon."""

    kind = serializers.ChoiceField(choices=["percent", "amount"])
    value = StrictDecimalField(max_digits=10, decimal_places=2, min_value=Decimal("0.01"))
    min_total = StrictDecimalField(
        max_digits=14, decimal_places=2, min_value=Decimal("0.01"), required=False, allow_null=True, default=None
    )
    valid_days = StrictIntegerField(min_value=1, max_value=365)

    def validate(self, attrs):
        if attrs["kind"] == "percent" and attrs["value"] > 100:
            raise serializers.ValidationError({"value": ["A percent off is at most 100."]})
        return attrs


class CampaignStepSerializer(serializers.ModelSerializer):
    position = StrictIntegerField(min_value=1, max_value=100)
    delay_seconds = StrictIntegerField(min_value=1, max_value=int(MAX_STEP_DELAY.total_seconds()))
    subject = StrictCharField(max_length=200, trim_whitespace=False)
    preheader = StrictCharField(max_length=200, required=False, allow_blank=True, default="", trim_whitespace=False)
    body_html = StrictCharField(max_length=MAX_BODY_BYTES, trim_whitespace=False)
    body_text = StrictCharField(max_length=MAX_BODY_BYTES, trim_whitespace=False)
    is_active = StrictBooleanField(required=False, default=True)
    offer = OfferSerializer(required=False, allow_null=True, default=None)

    class Meta:
        model = CampaignStep
        fields = ["position", "delay_seconds", "subject", "preheader", "body_html", "body_text", "is_active", "offer"]

    def to_representation(self, step: CampaignStep) -> dict:
        data = super().to_representation(step)
        data["offer"] = (
            {
                "kind": step.offer_kind,
                "value": f"{step.offer_value:.2f}",
                "min_total": None if step.offer_min_total is None else f"{step.offer_min_total:.2f}",
                "valid_days": step.offer_valid_days,
            }
            if step.has_offer
            else None
        )
        return data

    def validate(self, attrs):
        errors = {}
        for field in campaigns.TEXT_FIELDS:
            if field in attrs:
                try:
                    campaigns.check_step_text(field=field, source=attrs[field], position=attrs.get("position"))
                except DjangoValidationError as problem:
                    errors[field] = _django_errors(problem)
        if errors:
            raise serializers.ValidationError(errors)
        offer = attrs.pop("offer", None)
        attrs.update(
            offer_kind=offer["kind"] if offer else "",
            offer_value=offer["value"] if offer else None,
            offer_min_total=offer.get("min_total") if offer else None,
            offer_valid_days=offer["valid_days"] if offer else None,
        )
        return attrs


class CampaignSerializer(serializers.ModelSerializer):
    name = StrictCharField(max_length=100, validators=[one_line])
    is_active = StrictBooleanField(required=False, default=False)
    holdout_percent = StrictIntegerField(
        min_value=0, max_value=50, required=False, default=0, help_text="Share of carts that get no reminders (0–50)."
    )
    steps = CampaignStepSerializer(many=True, required=False)

    class Meta:
        model = Campaign
        fields = ["id", "name", "is_active", "holdout_percent", "steps", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]

    def validate_name(self, value: str) -> str:
        clashes = Campaign.objects.filter(name__iexact=value)
        if self.instance is not None:
            clashes = clashes.exclude(pk=self.instance.pk)
        if clashes.exists():
            raise serializers.ValidationError("Another campaign has this name.")
        return value

    def validate_is_active(self, value: bool) -> bool:
        if value:
            other = Campaign.objects.filter(is_active=True)
            if self.instance is not None:
                other = other.exclude(pk=self.instance.pk)
            other = other.first()
            if other is not None:
                raise serializers.ValidationError(
                    f"Campaign {other.id} ({other.name}) is active: switch it off first (one campaign at a time)."
                )
        return value

    def validate_steps(self, steps: list[dict]) -> list[dict]:
        if self.partial:
            # The steps sent replace the campaign's steps, so each is checked in full even in a PATCH: its required
            # fields, and the defaults of those left out (DRF skips both for every field of a partial update).
            full = CampaignStepSerializer(data=self.initial_data["steps"], many=True)
            if not full.is_valid():
                raise serializers.ValidationError(full.errors)
            steps = full.validated_data
        problems = campaigns.schedule_problems(
            [(step["position"], step["delay_seconds"], step.get("is_active", True)) for step in steps]
        )
        if problems:
            raise serializers.ValidationError(problems)
        return steps


class CampaignPreviewQuery(serializers.Serializer):
    step = StrictIntegerField(min_value=1, max_value=100, required=False, help_text="The step's position (default 1).")
    cart = StrictIntegerField(
        min_value=1, max_value=2**63 - 1, required=False, help_text="A cart whose lines to show (default: a sample)."
    )


class CampaignPreviewSerializer(serializers.Serializer):
    subject = serializers.CharField()
    html = serializers.CharField()
    text = serializers.CharField()


class SentReminderSerializer(serializers.ModelSerializer):
    class Meta:
        model = RecoveryEmail
        fields = ["id", "step", "status", "recipient", "subject", "sent_at", "last_error"]
        read_only_fields = fields


class ShopSerializer(serializers.ModelSerializer):
    class Meta:
        model = Shop
        fields = ["name", "storefront_url", "logo_url", "address", "support_email", "from_email", "reply_to"]
