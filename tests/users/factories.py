import factory
from django.contrib.auth.hashers import make_password

from users.models import User

STAFF_PASSWORD = "correct horse battery staple"


class UserFactory(factory.django.DjangoModelFactory):
    """A shopper as the API registers them: no usable password."""

    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"shopper{n}@example.com")
    name = factory.Faker("name")
    password = factory.LazyFunction(lambda: make_password(None))


class StaffFactory(UserFactory):
    """Staff with a password (STAFF_PASSWORD) and every admin permission."""

    email = factory.Sequence(lambda n: f"staff{n}@example.com")
    is_staff = True
    is_superuser = True
    password = factory.django.Password(STAFF_PASSWORD)
