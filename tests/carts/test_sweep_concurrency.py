"""The sweep beside other writers, with real concurrent transactions (threads, each with its own connection).

On PostgreSQL this is the production case (row locks, SKIP LOCKED). On SQLite the same scenarios run on a file
database whose writers are serialised (IMMEDIATE transactions), and the outcomes must be the same.
"""

import random
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from carts import services
from carts import sweep as sweep_module
from carts.models import AbandonmentLog, Cart, CartItem
from carts.sweep import sweep_abandoned_carts
from catalog.models import Item
from tests.helpers import Threads, run_together
from tests.webhooks.factories import EndpointFactory
from users.models import User
from webhooks.models import Event

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

STALE = timedelta(seconds=settings.CART_ABANDON_AFTER_SECONDS + 3600)


def _bulk_carts(*, count: int, item: Item, prefix: str, **fields) -> list[int]:
    """``count`` shoppers with one cart each holding one line of ``item``; returns the cart ids."""
    User.objects.bulk_create(
        User(email=f"{prefix}{n}@example.com", name=f"Shopper {n}", password="!") for n in range(count)
    )
    users = User.objects.filter(email__startswith=prefix).order_by("pk")
    Cart.objects.bulk_create(
        Cart(user=user, item_count=1, total=item.price, **fields) for user in users.iterator(chunk_size=2000)
    )
    carts = list(Cart.objects.filter(user__email__startswith=prefix).values_list("pk", flat=True))
    CartItem.objects.bulk_create(
        (CartItem(cart_id=pk, item=item, quantity=1, unit_price=item.price) for pk in carts), batch_size=2000
    )
    return carts


def test_two_sweeps_at_once_with_checkouts_racing_them_mark_each_stale_cart_exactly_once():
    # Given many stale carts, some carts checked out long ago, and shoppers about to check out stale carts
    stale_count = 10_000 if connection.vendor == "postgresql" else 3_000
    now = timezone.now()
    item = Item.objects.create(name="Mug", price=Decimal("7.50"))
    stale = _bulk_carts(count=stale_count, item=item, prefix="stale", last_updated=now - STALE, created_at=now - STALE)
    done_before = _bulk_carts(
        count=300,
        item=item,
        prefix="done",
        status=Cart.Status.CHECKED_OUT,
        checked_out_at=now - STALE,
        last_updated=now - STALE,
        created_at=now - STALE,
    )
    checkouts = random.Random(7).sample(stale, 300)

    def checkout_all():
        for cart_id in checkouts:
            services.cart_checkout(cart_id=cart_id, user=None, now=timezone.now())
        return len(checkouts)

    # When two sweeps (two scheduler processes) run at the same moment, while the checkouts go on
    sweep_a, sweep_b, _ = run_together(
        [
            lambda: sweep_abandoned_carts(now=now, batch_size=250),
            lambda: sweep_abandoned_carts(now=now, batch_size=250),
            checkout_all,
        ],
        timeout=120,
    )

    # Then every stale cart was marked exactly once (by one sweep or the other), logged exactly once
    carts = {cart.pk: cart for cart in Cart.objects.all()}
    logs = dict(AbandonmentLog.objects.values_list("cart_id", "abandoned_at"))
    marked = sweep_a.marked + sweep_b.marked
    assert marked == len(logs) == sweep_a.logged + sweep_b.logged
    assert {pk for pk, cart in carts.items() if cart.abandoned_at is not None} == set(logs)
    assert all(logs[pk] == carts[pk].abandoned_at == now for pk in logs)
    # every stale cart not checked out is abandoned; none stays active
    assert all(carts[pk].status == Cart.Status.ABANDONED for pk in set(stale) - set(checkouts))
    # a racing checkout either came first (the cart was never marked) or came back after the mark (recovered)
    for pk in checkouts:
        cart = carts[pk]
        assert cart.status == Cart.Status.CHECKED_OUT
        assert (cart.abandoned_at is None and pk not in logs) or (pk in logs and cart.recovered_at is not None)
    # carts checked out before the sweeps are untouched
    assert all(carts[pk].abandoned_at is None and pk not in logs for pk in done_before)
    assert marked == stale_count - sum(1 for pk in checkouts if pk not in logs)


def test_a_cart_a_shopper_is_changing_while_the_sweep_runs_is_not_marked(shopper):
    # Given a stale cart, and its shopper in the middle of adding an item (the cart row is locked, not yet saved)
    long_ago = timezone.now() - STALE
    item = Item.objects.create(name="Tea", price=Decimal("4.00"))
    other = Item.objects.create(name="Cup", price=Decimal("3.00"))
    services.cart_add_item(user=shopper, item=item, quantity=1, now=long_ago)
    cart = Cart.objects.get(user=shopper)
    locked, release = threading.Event(), threading.Event()

    def shopper_adds_slowly():
        # The service's own steps, with a pause while the cart is locked: what a slow request looks like.
        with transaction.atomic():
            Cart.objects.select_for_update().get(pk=cart.pk)
            locked.set()
            assert release.wait(timeout=30)
            return services.cart_add_item(user=shopper, item=other, quantity=1, now=timezone.now())

    threads = Threads()
    threads.start("shopper", shopper_adds_slowly)
    assert locked.wait(timeout=30)

    # When the sweep runs meanwhile: on PostgreSQL it skips the locked cart and finishes at once; on SQLite it
    # waits for the shopper's transaction (one writer at a time), then sees a fresh cart
    threads.start("sweep", lambda: sweep_abandoned_carts(now=timezone.now()))
    if connection.vendor == "postgresql":
        threads.join("sweep", timeout=30)  # fails if the sweep waited for the shopper's lock
    release.set()
    threads.join(timeout=30)
    threads.check()

    # Then the cart stays active with both items, never marked, never logged
    assert threads.results["sweep"].marked == 0
    cart.refresh_from_db()
    assert cart.status == Cart.Status.ACTIVE
    assert cart.abandoned_at is None
    assert cart.item_count == 2
    assert not AbandonmentLog.objects.exists()


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="parallel catch-up workers are a PostgreSQL feature; SQLite serialises writers, so the sweep uses one",
)
def test_a_large_backlog_on_postgresql_is_swept_by_several_connections_each_cart_once(settings, monkeypatch):
    # Given a backlog worth many batches, a sweep allowed three connections, and a webhook endpoint listening
    settings.CART_SWEEP_WORKERS = 3
    EndpointFactory(event_types=["cart.abandoned"])
    item = Item.objects.create(name="Kettle", price=Decimal("20.00"))
    now = timezone.now()
    carts = _bulk_carts(count=3_000, item=item, prefix="backlog", last_updated=now - STALE)
    threads_seen = set()
    real_mark_batch = sweep_module._mark_batch

    def recording_mark_batch(**kwargs):
        threads_seen.add(threading.get_ident())
        return real_mark_batch(**kwargs)

    monkeypatch.setattr(sweep_module, "_mark_batch", recording_mark_batch)

    # When one sweep runs (batches of 100, so the backlog counts as a catch-up)
    result = sweep_abandoned_carts(now=now, batch_size=100)

    # Then the connections shared the work and every cart was marked and logged exactly once
    assert len(threads_seen) == 3
    assert result.marked == result.logged == len(carts)
    assert Cart.objects.filter(pk__in=carts, status=Cart.Status.ABANDONED).count() == len(carts)
    assert AbandonmentLog.objects.filter(cart_id__in=carts).count() == len(carts)
    events = Event.objects.filter(type="cart.abandoned", cart_id__in=carts)
    assert events.count() == events.values("cart_id").distinct().count() == len(carts)
