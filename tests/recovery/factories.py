import factory
from django.utils import timezone

from carts.models import Cart
from recovery.defaults import default_steps
from recovery.models import Campaign, CampaignStep, RecoveryEmail
from tests.carts.factories import CartFactory


class RecoveryEmailFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RecoveryEmail

    cart = factory.SubFactory(
        CartFactory, status=Cart.Status.ABANDONED, abandoned_at=factory.LazyFunction(timezone.now)
    )
    step = 1
    # The active campaign's step at that position, as the planner links it (none without a campaign).
    campaign_step = factory.LazyAttribute(
        lambda email: CampaignStep.objects.filter(campaign__is_active=True, position=email.step).first()
    )
    planned_at = factory.LazyFunction(timezone.now)


def make_campaign(*, delays=(3600, 86_400), name: str = "Cart reminders", is_active: bool = True) -> Campaign:
    """A campaign with the default texts (recovery/defaults.py), one step per delay, as the first campaign of an
    installation is made from CART_RECOVERY_EMAIL_STEPS."""
    campaign = Campaign.objects.create(name=name, is_active=is_active)
    for values in default_steps(list(delays)):
        CampaignStep.objects.create(campaign=campaign, **values)
    return campaign
