from rest_framework import serializers

from recovery.models import RecoveryEmail


class RecoveryEmailSerializer(serializers.ModelSerializer):
    cart_id = serializers.IntegerField(read_only=True)

    class Meta:
        model = RecoveryEmail
        fields = [
            "id",
            "cart_id",
            "step",
            "status",
            "planned_at",
            "claimed_at",
            "sent_at",
            "attempts",
            "next_attempt_at",
            "last_error",
            "clicked_at",
            "created_at",
        ]
        read_only_fields = fields
