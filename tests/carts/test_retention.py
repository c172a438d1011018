"""Cart tables do not grow forever: stale empty carts and carts past retention are pruned, nothing else."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command

from carts.models import AbandonmentLog, Cart, CartItem
from carts.retention import prune_old_carts
from recovery.models import RecoveryEmail
from tests.carts.factories import AbandonmentLogFactory, make_cart
from tests.recovery.factories import RecoveryEmailFactory

pytestmark = pytest.mark.django_db

WEEK = timedelta(days=7)


@pytest.fixture
def retention(settings):
    settings.CART_EMPTY_CART_MAX_AGE_SECONDS = int(WEEK.total_seconds())
    settings.CART_RETENTION_DAYS = 365


def test_an_empty_cart_untouched_past_the_limit_is_deleted_and_a_younger_one_kept(retention, clock):
    old = make_cart(last_updated=clock.now() - WEEK - timedelta(seconds=1))
    young = make_cart(last_updated=clock.now() - WEEK + timedelta(seconds=1))

    result = prune_old_carts(now=clock.now())

    assert result.empty_carts == 1
    assert not Cart.objects.filter(pk=old.pk).exists()
    assert Cart.objects.filter(pk=young.pk).exists()


def test_an_emptied_cart_with_abandonment_history_stays_for_the_report(retention, clock):
    cart = make_cart(last_updated=clock.now() - 2 * WEEK, abandoned_at=clock.now() - 3 * WEEK)

    prune_old_carts(now=clock.now())

    assert Cart.objects.filter(pk=cart.pk).exists()


def test_carts_with_items_are_never_pruned_as_empty(retention, item, clock):
    cart = make_cart(lines=[(item, 1)], last_updated=clock.now() - 3 * WEEK)

    prune_old_carts(now=clock.now())

    assert Cart.objects.filter(pk=cart.pk).exists()


def test_closed_carts_past_retention_go_with_their_lines_log_and_emails(retention, item, clock):
    long_ago = clock.now() - timedelta(days=366)
    expired = make_cart(
        lines=[(item, 2)],
        status=Cart.Status.CHECKED_OUT,
        checked_out_at=long_ago,
        last_updated=long_ago,
        abandoned_at=long_ago,
    )
    AbandonmentLogFactory(cart=expired, abandoned_at=long_ago)
    RecoveryEmailFactory(cart=expired, planned_at=long_ago)
    kept = make_cart(
        lines=[(item, 1)],
        status=Cart.Status.CHECKED_OUT,
        checked_out_at=long_ago,
        last_updated=clock.now() - timedelta(days=364),
    )

    result = prune_old_carts(now=clock.now())

    assert result.expired_carts == 1
    assert list(Cart.objects.values_list("pk", flat=True)) == [kept.pk]
    assert not CartItem.objects.filter(cart_id=expired.pk).exists()
    assert not AbandonmentLog.objects.exists()
    assert not RecoveryEmail.objects.exists()


def test_open_carts_are_kept_however_long_ago_they_were_touched(settings, item, clock):
    settings.CART_RETENTION_DAYS = 30
    long_ago = clock.now() - timedelta(days=400)
    forgotten = make_cart(lines=[(item, 2)], last_updated=long_ago)
    came_back_and_emptied = make_cart(
        abandoned_at=long_ago - WEEK,
        recovered_at=long_ago,
        recovery_source=Cart.RecoverySource.RETURNED,
        last_updated=long_ago,
    )

    result = prune_old_carts(now=clock.now())

    assert (result.empty_carts, result.expired_carts) == (0, 0)
    assert set(Cart.objects.values_list("pk", flat=True)) == {forgotten.pk, came_back_and_emptied.pk}


def test_retention_zero_keeps_closed_carts_forever(settings, item, clock):
    settings.CART_RETENTION_DAYS = 0
    ancient = clock.now() - timedelta(days=5000)
    make_cart(lines=[(item, 1)], status=Cart.Status.CHECKED_OUT, checked_out_at=ancient, last_updated=ancient)

    assert prune_old_carts(now=clock.now()).expired_carts == 0
    assert Cart.objects.count() == 1


def test_the_command_only_counts_unless_told_to_execute(retention, clock):
    make_cart(last_updated=clock.now() - 2 * WEEK)
    out = StringIO()

    call_command("prune_carts", stdout=out)
    assert "would delete 1 empty carts" in out.getvalue()
    assert Cart.objects.count() == 1

    call_command("prune_carts", "--execute", stdout=out)
    assert Cart.objects.count() == 0
