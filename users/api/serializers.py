from django.contrib.auth import authenticate
from rest_framework import serializers

from cartrecovery.api import StrictCharField
from users.models import User
from users.validators import SingleLineTextValidator


class UserSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "name", "email"]


class UserDetailSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "name", "email", "is_staff", "email_opt_out", "date_joined"]


class RegisterInput(serializers.Serializer):
    name = StrictCharField(max_length=150, validators=[SingleLineTextValidator()])
    email = serializers.EmailField(max_length=254)


class RegisterOutput(serializers.Serializer):
    message = serializers.CharField()
    id = serializers.IntegerField()
    token = serializers.CharField()


class TokenInput(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = StrictCharField(max_length=128, trim_whitespace=False, style={"input_type": "password"})

    def validate(self, attrs):
        user = authenticate(self.context.get("request"), email=attrs["email"], password=attrs["password"])
        if user is None:
            raise serializers.ValidationError("Unable to log in with the provided credentials.", code="authorization")
        attrs["user"] = user
        return attrs


class TokenOutput(serializers.Serializer):
    token = serializers.CharField()
