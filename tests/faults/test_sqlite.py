"""Many writers at once on the file database: shoppers adding, removing, viewing and checking out through the real
API in parallel threads (each with its own connection, closed after every request as in production), while a sweep
runs in a loop and new shoppers register. No request may fail ("database is locked" or anything else), and the
database must end exactly as the acknowledged requests say.

Written for SQLite (one writer at a time: IMMEDIATE transactions queue on the busy timeout instead of failing), and
run on PostgreSQL too, where the same load exercises row locks instead.
"""

import random
import threading
from collections import Counter
from dataclasses import dataclass, field

import pytest
from django.utils import timezone

from carts.models import Cart, CartItem
from carts.sweep import sweep_abandoned_carts
from core.integrity import check_integrity
from tests.catalog.factories import ItemFactory
from tests.helpers import Threads, client_for, run_together
from tests.users.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

SHOPPERS = 8
OPERATIONS_PER_SHOPPER = 40
REGISTRATIONS = 20


@dataclass
class Ledger:
    """What one shopper's client saw succeed."""

    user_id: int
    expected: Counter = field(default_factory=Counter)  # item id → acknowledged adds minus removes
    cart_ids: set = field(default_factory=set)
    checked_out: int | None = None
    failures: list = field(default_factory=list)


def _failure(response) -> str:
    return f"{response.request['REQUEST_METHOD']} {response.request['PATH_INFO']} → {response.status_code}: " + (
        response.content[:300].decode(errors="replace")
    )


def _shop(ledger: Ledger, user, item_ids: list[int], start: threading.Barrier, swept: threading.Event, seed: int):
    rng = random.Random(seed)
    client = client_for(user)
    start.wait()
    for n in range(OPERATIONS_PER_SHOPPER):
        if n == OPERATIONS_PER_SHOPPER // 2:
            # Halfway, wait until the sweep has abandoned some cart, so the second half is sure to meet abandoned carts
            # (adds, removes and views bring them back). Left to timing alone, a sweep can start, queue for the write
            # lock while every shopper touches its cart, and find nothing stale by its cutoff, shoppers done by then.
            assert swept.wait(timeout=60), "no sweep abandoned a cart while the shoppers waited"
        action = rng.choices(["add", "remove", "view"], weights=[5, 2, 2])[0]
        in_cart = [item_id for item_id, quantity in ledger.expected.items() if quantity > 0]
        if action == "remove" and in_cart:
            item_id = rng.choice(in_cart)
            cart_id = next(iter(ledger.cart_ids))
            response = client.post("/cart/remove", {"cart_id": cart_id, "item_id": item_id, "quantity": 1}, "json")
            if response.status_code != 200:
                ledger.failures.append(_failure(response))
                continue
            ledger.expected[item_id] -= 1
        elif action == "view" and ledger.cart_ids:
            response = client.get("/cart/view")
            if response.status_code != 200:
                ledger.failures.append(_failure(response))
        else:
            item_id, quantity = rng.choice(item_ids), rng.randint(1, 3)
            response = client.post("/cart/add", {"item_id": item_id, "quantity": quantity}, "json")
            if response.status_code != 200:
                ledger.failures.append(_failure(response))
                continue
            ledger.expected[item_id] += quantity
            ledger.cart_ids.add(response.json()["cart_id"])
    if any(ledger.expected.values()) and ledger.user_id % 2 == 0:  # half the shoppers pay, half leave
        cart_id = next(iter(ledger.cart_ids))
        response = client.post("/cart/checkout", {"cart_id": cart_id}, "json")
        if response.status_code == 200:
            ledger.checked_out = cart_id
        else:
            ledger.failures.append(_failure(response))


def _register(failures: list, start: threading.Barrier) -> None:
    client = client_for(None)
    start.wait()
    for n in range(REGISTRATIONS):
        response = client.post("/user/register", {"name": f"New {n}", "email": f"new{n}@example.com"}, "json")
        if response.status_code != 201:
            failures.append(_failure(response))


def _sweep(stop: threading.Event, start: threading.Barrier, swept: threading.Event, sweeps: list) -> None:
    start.wait()
    while not stop.is_set():
        # Threshold 0: every active cart with items is stale, so the sweep competes for every cart it can.
        sweeps.append(sweep_abandoned_carts(now=timezone.now(), older_than_seconds=0, batch_size=5))
        if sweeps[-1].marked:
            swept.set()


def test_concurrent_shoppers_a_sweep_and_registrations_lose_nothing_and_never_hit_a_locked_database():
    items = [ItemFactory().pk for _ in range(3)]
    users = [UserFactory() for _ in range(SHOPPERS)]
    ledgers = [Ledger(user_id=user.pk) for user in users]
    start = threading.Barrier(SHOPPERS + 2)
    stop, swept, registration_failures, sweeps = threading.Event(), threading.Event(), [], []
    threads = Threads()
    for seed, (ledger, user) in enumerate(zip(ledgers, users, strict=True)):
        threads.start(f"shopper {seed}", _shop, ledger, user, items, start, swept, seed)
    threads.start("registrations", _register, registration_failures, start)
    threads.start("sweeps", _sweep, stop, start, swept, sweeps)
    threads.join(*[name for name in threads.threads if name != "sweeps"], timeout=120)
    stop.set()
    threads.join("sweeps", timeout=60)
    threads.check()

    failures = [f for ledger in ledgers for f in ledger.failures] + registration_failures
    assert failures == []
    assert not any("locked" in f for f in failures)
    assert sum(result.marked for result in sweeps) > 0, "the sweep never competed with the shoppers"
    # Shoppers met their carts abandoned and brought them back by going on shopping.
    assert Cart.objects.filter(user_id__in=[ledger.user_id for ledger in ledgers], recovered_at__isnull=False).exists()
    for ledger in ledgers:
        assert len(ledger.cart_ids) <= 1
        in_database = dict(
            CartItem.objects.filter(cart__user_id=ledger.user_id).values_list("item_id", "quantity").order_by()
        )
        assert in_database == {item_id: qty for item_id, qty in ledger.expected.items() if qty > 0}
        if ledger.checked_out:
            assert Cart.objects.get(pk=ledger.checked_out).status == Cart.Status.CHECKED_OUT
    report = check_integrity()
    assert report.ok, report.violations


def test_one_shopper_adding_from_many_tabs_at_once_gets_one_cart_with_every_unit():
    user, item = UserFactory(), ItemFactory()
    clients = [client_for(user) for _ in range(8)]

    def add_from_a_tab(client):
        return [client.post("/cart/add", {"item_id": item.pk, "quantity": 1}, "json").status_code for _ in range(5)]

    statuses = run_together([lambda client=client: add_from_a_tab(client) for client in clients])

    assert statuses == [[200] * 5] * 8
    cart = Cart.objects.get(user=user)
    assert (cart.item_count, cart.lines.get().quantity) == (40, 40)
    assert check_integrity().ok
