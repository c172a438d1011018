from django.contrib.auth import authenticate
from rest_framework import serializers

from core.fields import StrictCharField
from users.models import User
from users.validators import AsciiLocalPartValidator, DomainNameValidator, SingleLineTextValidator


class UserSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "name", "email"]


class UserDetailSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "name", "email", "is_staff", "email_opt_out", "date_joined"]


class AccountEmailField(serializers.EmailField):
    """An email address as accounts keep it: in the form the mail system delivers to (Unicode NFKC, needless quotes
    dropped, the domain in lower case and ASCII: ``User.objects.normalize_email``) before it is validated, then the
    model's own rules (one line of visible characters, as a quoted local part may hold control characters; ASCII
    before the @; a domain name, not an IP address)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 254)
        super().__init__(**kwargs)
        self.validators += [SingleLineTextValidator(), AsciiLocalPartValidator(), DomainNameValidator()]

    def to_internal_value(self, data):
        return User.objects.normalize_email(super().to_internal_value(data))


class RegisterInput(serializers.Serializer):
    name = StrictCharField(max_length=150, validators=[SingleLineTextValidator()])
    email = AccountEmailField()


class RegisterOutput(serializers.Serializer):
    message = serializers.CharField()
    id = serializers.IntegerField()
    token = serializers.CharField()


class TokenInput(serializers.Serializer):
    # As typed: the login tries it before its normalised form (UserManager.get_by_natural_key).
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
