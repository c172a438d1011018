"""The holdout is drawn per shopper: a shopper drawn into the holdout stays there for every later cart, so they never
learn from one cart that reminders come while another cart is measured as if they did not."""

from datetime import timedelta

import pytest

from carts.models import Cart
from carts.services import cart_add_item, cart_checkout
from carts.sweep import sweep_abandoned_carts
from recovery.models import Campaign
from recovery.planning import assign_holdout_groups

pytestmark = pytest.mark.django_db


class Always:
    """A random source that always answers ``value`` (below the share: holdout; above: treated)."""

    def __init__(self, value: float):
        self.value = value
        self.calls = 0

    def random(self) -> float:
        self.calls += 1
        return self.value


@pytest.fixture
def holdout_campaign(campaign, clock):
    Campaign.objects.filter(pk=campaign.pk).update(holdout_percent=10, activated_at=clock.now() - timedelta(days=1))
    return campaign


def abandon_a_cart(*, shopper, item, clock, settings) -> Cart:
    cart, _line = cart_add_item(user=shopper, item=item, quantity=1, now=clock.now())
    clock.advance(seconds=settings.CART_ABANDON_AFTER_SECONDS + 1)
    sweep_abandoned_carts(now=clock.now())
    return Cart.objects.get(pk=cart.pk)


def test_a_holdout_shoppers_next_cart_is_in_the_holdout_without_a_new_draw(
    holdout_campaign, shopper, item, clock, settings
):
    abandon_a_cart(shopper=shopper, item=item, clock=clock, settings=settings)
    assign_holdout_groups(rng=Always(0.0))
    first = Cart.objects.get(user=shopper)
    cart_checkout(user=shopper, cart_id=first.pk, now=clock.now())
    clock.advance(days=3)

    second = abandon_a_cart(shopper=shopper, item=item, clock=clock, settings=settings)
    would_say_treated = Always(0.99)
    assign_holdout_groups(rng=would_say_treated)

    assert Cart.objects.get(pk=first.pk).recovery_group == "holdout"
    assert Cart.objects.get(pk=second.pk).recovery_group == "holdout"
    assert would_say_treated.calls == 0


def test_each_new_shopper_is_a_draw_of_their_own(holdout_campaign, shopper, other_shopper, item, clock, settings):
    abandon_a_cart(shopper=shopper, item=item, clock=clock, settings=settings)
    assign_holdout_groups(rng=Always(0.0))
    abandon_a_cart(shopper=other_shopper, item=item, clock=clock, settings=settings)
    draws = Always(0.99)

    assign_holdout_groups(rng=draws)

    assert Cart.objects.get(user=shopper).recovery_group == "holdout"
    assert Cart.objects.get(user=other_shopper).recovery_group == "treated"
    assert draws.calls == 1
