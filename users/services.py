import logging

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from knox.models import AuthToken

from core.errors import InvalidInput

from .models import User

logger = logging.getLogger(__name__)

DUPLICATE_EMAIL = "A user with this email already exists."


def user_register(*, name: str, email: str, by_staff: bool = False) -> tuple[User, str]:
    """Register a shopper (no usable password) and return them with their API token, the only time it is shown.

    ``by_staff``: the storefront's server registered them with a staff token, so their name is vouched for and the
    reminders may greet them by it. Anyone can register anyone's address with any name, so a name typed by a
    stranger never goes out in the shop's email (docs/contract.md, "Recovery emails")."""
    email = User.objects.normalize_email(email)
    if User.objects.with_email(email).exists():
        raise InvalidInput(DUPLICATE_EMAIL, field="email")
    try:
        with transaction.atomic():
            user = User.objects.create_user(email=email, name=name, name_vouched=by_staff)
            _, token = AuthToken.objects.create(user=user, expiry=None)
    except IntegrityError as exc:
        # The race this expects: a concurrent registration of the same address won it. Any other integrity error is
        # a bug, and surfaces as one.
        if not User.objects.with_email(email).exists():
            raise
        raise InvalidInput(DUPLICATE_EMAIL, field="email") from exc
    return user, token


def user_token_issue(*, user: User) -> str:
    """A new API token for ``user``, shown this once: only its digest is stored.

    A user keeps at most ``API_TOKENS_PER_USER`` tokens. At the limit the oldest ones are revoked to make room, so a
    storefront server that logs in each time it starts never locks itself out; the cost is that a token kept for a
    long time is revoked once that many newer logins of the same user have happened (logged as a warning)."""
    keep = settings.API_TOKENS_PER_USER - 1
    with transaction.atomic():
        # The user's row lock makes simultaneous logins count one after the other, so none passes the limit.
        User.objects.select_for_update().only("pk").get(pk=user.pk)
        tokens = AuthToken.objects.filter(user=user)
        tokens.filter(expiry__lte=timezone.now()).delete()
        oldest = list(tokens.order_by("-created", "-digest").values_list("digest", "token_key")[keep:])
        if oldest:
            tokens.filter(digest__in=[digest for digest, _ in oldest]).delete()
            logger.warning(
                "user %s: revoked the oldest API tokens %s to stay within DJANGO_API_TOKENS_PER_USER=%d",
                user.pk,
                ", ".join(f"{prefix}…" for _, prefix in oldest),
                keep + 1,
            )
        _, token = AuthToken.objects.create(user=user, expiry=None)
    return token
