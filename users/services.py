from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.exceptions import ValidationError

from cartrecovery.errors import Conflict

from .models import User

DUPLICATE_EMAIL = "A user with this email already exists."


def user_register(*, name: str, email: str) -> tuple[User, str]:
    """Register a shopper (no usable password) and return them with their API token, the only time it is shown."""
    if User.objects.filter(email__iexact=email).exists():
        raise ValidationError({"email": [DUPLICATE_EMAIL]})
    try:
        with transaction.atomic():
            user = User.objects.create_user(email=email, name=name)
            _, token = AuthToken.objects.create(user=user, expiry=None)
    except IntegrityError as exc:  # a concurrent registration of the same address won the race
        raise ValidationError({"email": [DUPLICATE_EMAIL]}) from exc
    return user, token


def user_token_issue(*, user: User) -> str:
    """A new API token for ``user``. Only its digest is stored, so it is shown this once; a user holds at most
    ``API_TOKENS_PER_USER`` live tokens (revoked by deleting them in the admin)."""
    limit = settings.API_TOKENS_PER_USER
    with transaction.atomic():
        # The user's row lock makes two simultaneous logins count one after the other, so neither passes the limit.
        User.objects.select_for_update().only("pk").get(pk=user.pk)
        live = AuthToken.objects.filter(Q(expiry__isnull=True) | Q(expiry__gt=timezone.now()), user=user)
        if live.count() >= limit:
            raise Conflict(
                f"This user already has {limit} API tokens, the most allowed. "
                "Delete one in the admin (API tokens) to get a new one."
            )
        _, token = AuthToken.objects.create(user=user, expiry=None)
    return token
