from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models import Q, QuerySet, Value
from django.db.models.functions import Lower
from django.db.models.lookups import Exact
from django.utils import timezone

from . import emails
from .validators import SingleLineTextValidator


def _same_address(email: str) -> Exact:
    """Compared as the unique constraint compares: LOWER() on both sides, in the database (which also lets PostgreSQL
    use the constraint's index). Not ``email__iexact``: on PostgreSQL that is UPPER(), which folds some letters LOWER()
    keeps apart, so it could match two users the constraint allows, and a login would fail with a 500."""
    return Exact(Lower("email"), Lower(Value(email)))


def _forms_of(email: str) -> list[str]:
    """The address as typed, then its normalised form (``UserManager.normalize_email``) when that differs. A row
    stored before normalisation existed, and kept as it was because its normalised form belonged to another account
    (users/migrations/0004), is found under its own address."""
    return list(dict.fromkeys([email, UserManager.normalize_email(email)]))


def email_matches(email: str) -> Q:
    """A filter for the users with this address, whatever its case and in either of its forms."""
    condition = Q()
    for form in _forms_of(email):
        condition |= Q(_same_address(form))
    return condition


class UserManager(BaseUserManager):
    use_in_migrations = True

    @classmethod
    def normalize_email(cls, email: str | None) -> str:
        """The form the mail system delivers to (users/emails.py): Unicode NFKC, so look-alike characters such as
        the Kelvin sign or the long s become the letters they look like; a needlessly quoted part before the @
        unquoted; the domain in lower case and ASCII (``bücher.example`` → ``xn--bcher-kva.example``). Two
        addresses of one mailbox cannot make two accounts."""
        return emails.normalize_email(email)

    def with_email(self, email: str) -> QuerySet:
        return self.filter(email_matches(email))

    def get_by_natural_key(self, email: str) -> "User":
        # Logins match whatever the case the address was typed in (the database keeps it unique that way too). The
        # address as typed comes first, so a kept look-alike and the account it imitates each log in as themselves.
        for form in _forms_of(email):
            user = self.filter(_same_address(form)).first()
            if user is not None:
                return user
        raise self.model.DoesNotExist(f"No user has the address {email!r}.")

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
        extra.setdefault("name_vouched", True)
        return self._create(email, name, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A shopper or a member of staff: one table, email is the login."""

    # One line of visible characters. Plain ASCII before the @ is asked of new addresses only (registration and the
    # admin's forms), so a user stored before that rule can still be edited.
    email = models.EmailField(max_length=254, unique=True, validators=[SingleLineTextValidator()])
    name = models.CharField(max_length=150, validators=[SingleLineTextValidator()])
    is_staff = models.BooleanField(default=False, help_text="Staff may log into the admin and act on any cart.")
    is_active = models.BooleanField(default=True)
    email_opt_out = models.BooleanField(default=False, help_text="Never send recovery emails to this user.")
    name_vouched = models.BooleanField(
        default=False,
        db_default=False,
        help_text="The name came from staff (the storefront's server, the admin), not from a stranger's registration: "
        "only then do reminders greet the shopper by their first name.",
    )
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

    def clean(self):
        super().clean()
        # The form the API stores (NFKC, the domain in lower case), for addresses typed into the admin too.
        self.email = type(self).objects.normalize_email(self.email)

    def get_full_name(self) -> str:
        return self.name

    def get_short_name(self) -> str:
        return self.name
