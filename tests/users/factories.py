import factory

from users.models import User


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"shopper{n}@example.com")
    name = factory.Faker("name")
    password = factory.PostGenerationMethodCall("set_unusable_password")


class StaffFactory(UserFactory):
    email = factory.Sequence(lambda n: f"staff{n}@example.com")
    is_staff = True
    password = factory.PostGenerationMethodCall("set_password", "correct horse battery staple")
