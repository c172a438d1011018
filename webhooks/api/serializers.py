from rest_framework import serializers

from core.fields import StrictCharField
from webhooks.addresses import MAX_URL_LENGTH, validate_endpoint_url
from webhooks.delivery import event_payload
from webhooks.models import Attempt, Delivery, Endpoint, Event


class EndpointSerializer(serializers.ModelSerializer):
    """An endpoint as staff read and write it; never its secret."""

    url = StrictCharField(
        max_length=MAX_URL_LENGTH,
        validators=[validate_endpoint_url],
        trim_whitespace=False,
        help_text="Where events are POSTed: https (plain http, or a private address, only where allowed).",
    )
    description = StrictCharField(max_length=200, required=False, allow_blank=True)
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=Event.Type.choices),
        required=False,
        allow_empty=True,
        max_length=len(Event.Type.choices),
        help_text="The event types sent to this endpoint; empty (the default) means every type.",
    )
    active = serializers.BooleanField(required=False)

    class Meta:
        model = Endpoint
        fields = ["id", "url", "description", "event_types", "active", "created_at"]
        read_only_fields = ["id", "created_at"]

    def validate_event_types(self, value):
        if len(set(value)) != len(value):
            raise serializers.ValidationError("Name each event type once.")
        return value


class EndpointWithSecretSerializer(EndpointSerializer):
    """The answer that issues a secret (creation, rotation): the only time it is shown."""

    secret = serializers.CharField(
        read_only=True, help_text="whsec_…: shown once; store it where the receiver reads it."
    )

    class Meta(EndpointSerializer.Meta):
        fields = [*EndpointSerializer.Meta.fields, "secret"]


class AttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = Attempt
        fields = ["attempted_at", "status_code", "latency_ms", "response_excerpt", "error", "replay"]
        read_only_fields = fields


class DeliverySerializer(serializers.ModelSerializer):
    endpoint_id = serializers.IntegerField(read_only=True)
    event_id = serializers.IntegerField(read_only=True)
    event_type = serializers.ChoiceField(source="event.type", choices=Event.Type.choices, read_only=True)
    occurred_at = serializers.DateTimeField(source="event.occurred_at", read_only=True)

    class Meta:
        model = Delivery
        fields = [
            "id",
            "webhook_id",
            "endpoint_id",
            "event_id",
            "event_type",
            "occurred_at",
            "status",
            "attempts",
            "created_at",
            "next_attempt_at",
            "delivered_at",
            "last_status_code",
            "last_error",
        ]
        read_only_fields = fields


class DeliveryDetailSerializer(DeliverySerializer):
    """A delivery with the body it sends and every attempt, oldest first."""

    payload = serializers.SerializerMethodField(help_text="The JSON body sent: {type, timestamp, data}.")
    attempt_log = AttemptSerializer(many=True, read_only=True)

    class Meta(DeliverySerializer.Meta):
        fields = [*DeliverySerializer.Meta.fields, "payload", "attempt_log"]
        read_only_fields = fields

    def get_payload(self, delivery: Delivery) -> dict:
        return event_payload(delivery.event)
