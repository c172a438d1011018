import factory
from django.utils import timezone

from carts.models import Cart
from recovery.models import RecoveryEmail
from tests.carts.factories import CartFactory


class RecoveryEmailFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RecoveryEmail

    cart = factory.SubFactory(
        CartFactory, status=Cart.Status.ABANDONED, abandoned_at=factory.LazyFunction(timezone.now)
    )
    step = 1
    planned_at = factory.LazyFunction(timezone.now)
