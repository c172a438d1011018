from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from core.fields import StrictBooleanField, StrictCharField, StrictIntegerField
from recovery import campaigns
from recovery.models import MAX_STEP_DELAY, Campaign, CampaignStep, RecoveryEmail, Shop
from recovery.templating import MAX_BODY_BYTES
from recovery.validators import one_line


class RecoveryEmailSerializer(serializers.ModelSerializer):
    cart_id = serializers.IntegerField(read_only=True)

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
            "created_at",
        ]
        read_only_fields = fields


def _django_errors(error: DjangoValidationError) -> list[str]:
    return [str(message) for message in error.messages]


class CampaignStepSerializer(serializers.ModelSerializer):
    position = StrictIntegerField(min_value=1, max_value=100)
    delay_seconds = StrictIntegerField(min_value=1, max_value=int(MAX_STEP_DELAY.total_seconds()))
    subject = StrictCharField(max_length=200, trim_whitespace=False)
    preheader = StrictCharField(max_length=200, required=False, allow_blank=True, default="", trim_whitespace=False)
    body_html = StrictCharField(max_length=MAX_BODY_BYTES, trim_whitespace=False)
    body_text = StrictCharField(max_length=MAX_BODY_BYTES, trim_whitespace=False)
    is_active = StrictBooleanField(required=False, default=True)

    class Meta:
        model = CampaignStep
        fields = ["position", "delay_seconds", "subject", "preheader", "body_html", "body_text", "is_active"]

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
        return attrs


class CampaignSerializer(serializers.ModelSerializer):
    name = StrictCharField(max_length=100, validators=[one_line])
    is_active = StrictBooleanField(required=False, default=False)
    steps = CampaignStepSerializer(many=True, required=False)

    class Meta:
        model = Campaign
        fields = ["id", "name", "is_active", "steps", "created_at", "updated_at"]
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
