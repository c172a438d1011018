"""Real threads: while writers add and remove lines, every cart a reader gets agrees with itself, its total the sum
of the lines it shows and its item count the sum of their quantities (/cart/view, /api/carts/, /api/carts/{id}/).

Runs on SQLite (WAL: readers go on beside the one writer) and on PostgreSQL (READ COMMITTED)."""

import threading
from decimal import Decimal

import pytest

from carts import services
from carts.models import Cart
from tests.carts.factories import make_cart
from tests.catalog.factories import ItemFactory
from tests.helpers import Threads, client_for

pytestmark = pytest.mark.django_db(transaction=True)

WRITES_PER_WRITER = 40
READS_AT_LEAST = 10


def _contradictions(cart: dict) -> list[str]:
    """What in one cart answer disagrees with the rest of it."""
    found = []
    lines_total = sum((Decimal(line["line_total"]) for line in cart["items"]), Decimal("0.00"))
    if Decimal(cart["total"]) != lines_total:
        found.append(f"total {cart['total']} != lines {lines_total}")
    for line in cart["items"]:
        if Decimal(line["price"]) * line["quantity"] != Decimal(line["line_total"]):
            found.append(f"line {line}")
    if "item_count" in cart and cart["item_count"] != sum(line["quantity"] for line in cart["items"]):
        found.append(f"item_count {cart['item_count']} != quantities {[line['quantity'] for line in cart['items']]}")
    return found


def test_every_cart_read_during_concurrent_adds_and_removes_agrees_with_itself(shopper, clock):
    cheap, dear, odd = ItemFactory(price=Decimal("1.25")), ItemFactory(price=Decimal("40.00")), ItemFactory()
    cart = make_cart(user=shopper, lines=[(cheap, 5), (dear, 1)])
    done = threading.Event()

    def write(item):
        for n in range(WRITES_PER_WRITER):
            services.cart_add_item(user=shopper, item=item, quantity=1 + n % 3, now=clock.now())
            services.cart_remove_item(
                cart_id=cart.pk, item_id=item.pk, quantity=None if n % 4 == 0 else 1, user=shopper, now=clock.now()
            )

    def read(path, pick):
        client = client_for(shopper)
        reads, bad = 0, []
        while not done.is_set() or reads < READS_AT_LEAST:
            response = client.get(path)
            assert response.status_code == 200, response.content
            answer = pick(response.json())
            bad += [f"{path}: {problem}" for problem in _contradictions(answer)]
            reads += 1
        return reads, bad

    threads = Threads()
    threads.start("view", read, "/cart/view", lambda body: body)
    threads.start("list", read, "/api/carts/", lambda body: body["results"][0])
    threads.start("detail", read, f"/api/carts/{cart.pk}/", lambda body: body)
    for item in (cheap, dear, odd):
        threads.start(f"writer {item.pk}", write, item)
    threads.join(*(name for name in threads.threads if name.startswith("writer")), timeout=120)
    done.set()
    threads.join(timeout=60)
    threads.check()

    reads = {name: threads.results[name][0] for name in ("view", "list", "detail")}
    contradictions = [problem for name in reads for problem in threads.results[name][1]]
    assert contradictions == []
    assert min(reads.values()) >= READS_AT_LEAST, reads
    assert Cart.objects.get(pk=cart.pk).status == Cart.Status.ACTIVE
