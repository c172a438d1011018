import unicodedata

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models import QuerySet, Value
from django.db.models.functions import Lower
from django.db.models.lookups import Exact
from django.utils import timezone

from .validators import AsciiLocalPartValidator, SingleLineTextValidator


def email_matches(email: str) -> Exact:
    """A filter for the user with this address, whatever its case: compared as the unique constraint compares, LOWER()
    on both sides in the database (which also lets PostgreSQL use the constraint's index). Not ``email__iexact``: on
    PostgreSQL that is UPPER(), which folds some letters LOWER() keeps apart (the Greek final sigma), so it could match
    two users the constraint allows, and a login would fail with a 500."""
    return Exact(Lower("email"), Lower(Value(UserManager.normalize_email(email))))


class UserManager(BaseUserManager):
    use_in_migrations = True

    @classmethod
    def normalize_email(cls, email: str | None) -> str:
        """Django's (the domain in lower case), after Unicode NFKC: look-alike characters such as the Kelvin sign
        or the long s become the letters they look like, so they cannot make a second account that reads the same."""
        return super().normalize_email(unicodedata.normalize("NFKC", email or ""))

    def with_email(self, email: str) -> QuerySet:
        return self.filter(email_matches(email))

    def get_by_natural_key(self, email: str) -> "User":
        # Logins match whatever the case the address was typed in; the database keeps it unique that way too.
        return self.with_email(email).get()

    def _create(self, email: str, name: str, password: str | None, **extra) -> "User":
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email), name=name, **extra)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save(using=self._db)
        return user

    def create_user(self, email: str, name: str, password: str | None = None, **extra) -> "User":
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create(email, name, password, **extra)

    def create_superuser(self, email: str, name: str, password: str | None = None, **extra) -> "User":
        extra["is_staff"] = True
        extra["is_superuser"] = True
        return self._create(email, name, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A shopper or a member of staff: one table, email is the login."""

    email = models.EmailField(
        max_length=254, unique=True, validators=[SingleLineTextValidator(), AsciiLocalPartValidator()]
    )
    name = models.CharField(max_length=150, validators=[SingleLineTextValidator()])
    is_staff = models.BooleanField(default=False, help_text="Staff may log into the admin and act on any cart.")
    is_active = models.BooleanField(default=True)
    email_opt_out = models.BooleanField(default=False, help_text="Never send recovery emails to this user.")
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["name"]

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                Lower("email"),
                name="users_user_email_ci_unique",
                violation_error_message="A user with this email already exists.",
            ),
        ]

    def __str__(self) -> str:
        return self.email

    def get_full_name(self) -> str:
        return self.name

    def get_short_name(self) -> str:
        return self.name
