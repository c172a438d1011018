from django.db import IntegrityError, transaction
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import ValidationError

from .models import User

DUPLICATE_EMAIL = "A user with this email already exists."


def user_register(*, name: str, email: str) -> tuple[User, str]:
    """Register a shopper (no usable password) and return them with their API token."""
    if User.objects.filter(email__iexact=email).exists():
        raise ValidationError({"email": [DUPLICATE_EMAIL]})
    try:
        with transaction.atomic():
            user = User.objects.create_user(email=email, name=name)
            token = Token.objects.create(user=user)
    except IntegrityError as exc:  # a concurrent registration of the same address won the race
        raise ValidationError({"email": [DUPLICATE_EMAIL]}) from exc
    return user, token.key


def user_token(*, user: User) -> str:
    token, _ = Token.objects.get_or_create(user=user)
    return token.key
