"""`manage.py check_integrity`: clean on a database the services built, loud (exit code 1) on each broken rule."""

import json
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from carts import services
from carts.figures import CartState, record_cart_change
from carts.models import AbandonmentLog, Cart, CartItem
from core.integrity import all_rules, check_integrity
from tests.carts.factories import AbandonmentLogFactory, CartFactory, make_cart
from tests.catalog.factories import ItemFactory
from tests.helpers import figures_rebuilt
from tests.users.factories import UserFactory

pytestmark = pytest.mark.django_db


def run_check(*args: str) -> str:
    out = StringIO()
    call_command("check_integrity", *args, stdout=out)
    return out.getvalue()


def result_of(rule_name: str):
    """One rule's result (every app's rules run, in INSTALLED_APPS order)."""
    return next(result for result in check_integrity().results if result.name == rule_name)


def broken_rules(*args: str) -> tuple[str, dict]:
    """Run the command expecting a failure; return its error message and the per-rule counts of the JSON report.

    The broken states are written by hand, not through the services that keep the report's figures: the figures are
    rebuilt first, so each test sees the one rule it breaks (the figures' own rule has its tests below)."""
    figures_rebuilt()
    out = StringIO()
    with pytest.raises(CommandError) as failure:
        call_command("check_integrity", "--json", *args, stdout=out)
    report = json.loads(out.getvalue())
    return str(failure.value), {rule["name"]: rule["count"] for rule in report["rules"] if rule["count"]}


def abandon(cart: Cart, *, at) -> Cart:
    """What the sweep does to a cart: mark it abandoned, write its one log, with the totals as they are, and count
    it in the report's figures."""
    before = CartState.of(cart)
    Cart.objects.filter(pk=cart.pk).update(status=Cart.Status.ABANDONED, abandoned_at=at)
    cart.refresh_from_db()
    record_cart_change(before, cart)
    AbandonmentLog.objects.create(cart=cart, abandoned_at=at, item_count=cart.item_count, total=cart.total)
    return cart


@pytest.fixture
def shop(clock):
    """A database in every legal state, built through the services: active, abandoned, recovered, checked out."""
    shirt, socks = ItemFactory(price=Decimal("19.99")), ItemFactory(price=Decimal("0.10"))
    active, abandoned, recovered, paid = UserFactory(), UserFactory(), UserFactory(), UserFactory()
    services.cart_add_item(user=active, item=shirt, quantity=2, now=clock.now())
    services.cart_add_item(user=active, item=socks, quantity=3, now=clock.now())
    services.cart_remove_item(
        cart_id=Cart.objects.get(user=active).pk, item_id=socks.pk, quantity=1, user=active, now=clock.now()
    )
    cart, _ = services.cart_add_item(user=abandoned, item=socks, quantity=7, now=clock.now())
    abandon(cart, at=clock.advance(seconds=700))
    cart, _ = services.cart_add_item(user=recovered, item=shirt, quantity=1, now=clock.now())
    abandon(cart, at=clock.now())
    services.cart_add_item(user=recovered, item=socks, quantity=1, now=clock.advance(seconds=60))
    services.cart_checkout(cart_id=cart.pk, user=recovered, now=clock.now())
    cart, _ = services.cart_add_item(user=paid, item=shirt, quantity=1, now=clock.now())
    services.cart_checkout(cart_id=cart.pk, user=paid, now=clock.now())
    services.cart_add_item(user=paid, item=socks, quantity=1, now=clock.now())  # a second, new cart
    return {"shirt": shirt, "socks": socks, "abandoned": Cart.objects.get(user=abandoned)}


def test_a_database_built_by_the_services_passes_every_rule(shop):
    output = run_check()
    assert "All invariants hold." in output
    assert output.count("ok  ") == len(all_rules())
    assert check_integrity().ok


def test_an_empty_database_passes():
    assert check_integrity().ok


def test_two_open_carts_for_one_user_are_reported(shop):
    # The database forbids it; drop the guard (inside the test's transaction) to prove the check would see it.
    with connection.cursor() as cursor:
        cursor.execute("DROP INDEX carts_cart_one_open_cart_per_user")
    second = make_cart(user=shop["abandoned"].user, lines=[(shop["shirt"], 1)])
    message, counts = broken_rules()
    assert counts == {"one_open_cart_per_user": 1}
    assert "one_open_cart_per_user (1)" in message
    assert result_of("one_open_cart_per_user").examples == [{"user_id": second.user_id, "open_carts": 2}]


def test_an_abandoned_cart_without_its_log_is_reported(shop):
    AbandonmentLog.objects.filter(cart=shop["abandoned"]).delete()
    _, counts = broken_rules()
    assert counts == {"abandoned_cart_has_log": 1}


def test_a_recovered_cart_that_lost_its_log_is_reported(shop):
    recovered = Cart.objects.get(recovered_at__isnull=False)
    AbandonmentLog.objects.filter(cart=recovered).delete()
    _, counts = broken_rules()
    assert counts == {"abandoned_cart_has_log": 1}


def test_a_log_for_a_cart_never_abandoned_is_reported(shop):
    never = Cart.objects.filter(abandoned_at__isnull=True, status=Cart.Status.ACTIVE).first()
    AbandonmentLog.objects.create(cart=never, abandoned_at=never.last_updated, item_count=1, total=Decimal("1.00"))
    _, counts = broken_rules()
    assert counts == {"log_belongs_to_an_abandoned_cart": 1}


def test_an_abandoned_empty_cart_is_reported(clock):
    AbandonmentLogFactory(cart=CartFactory(status=Cart.Status.ABANDONED, abandoned_at=clock.now()))
    _, counts = broken_rules()
    assert counts == {"no_abandoned_empty_cart": 1}


def test_an_abandoned_cart_whose_lines_vanished_is_reported(shop):
    # item_count still says 7, but there is no line: both "empty" and "totals" are broken.
    CartItem.objects.filter(cart=shop["abandoned"]).delete()
    _, counts = broken_rules()
    assert counts == {"no_abandoned_empty_cart": 1, "cart_totals_match_lines": 1}


@pytest.mark.parametrize(
    "change",
    [{"item_count": 6}, {"total": Decimal("0.71")}, {"total": Decimal("0.69")}],
    ids=["one-unit-short", "one-cent-over", "one-cent-under"],
)
def test_a_cart_whose_totals_differ_from_its_lines_is_reported(shop, change):
    cart = shop["abandoned"]  # 7 socks at 0.10: item_count 7, total 0.70
    assert (cart.item_count, cart.total) == (7, Decimal("0.70"))
    Cart.objects.filter(pk=cart.pk).update(**change)
    message, counts = broken_rules()
    assert counts == {"cart_totals_match_lines": 1}
    assert "cart_totals_match_lines (1)" in message
    (result,) = [result for result in check_integrity().results if result.name == "cart_totals_match_lines"]
    example = result.examples[0]
    assert example["id"] == cart.pk
    assert (example["lines_units"], example["lines_total"]) == (7, "0.70")


def test_the_command_exits_with_status_1_when_broken(shop):
    AbandonmentLog.objects.filter(cart=shop["abandoned"]).delete()
    with pytest.raises(CommandError) as failure:
        run_check()
    assert failure.value.returncode == 1


def test_the_check_is_a_fixed_number_of_queries_however_many_carts(clock):
    from django.test.utils import CaptureQueriesContext

    item = ItemFactory()

    def queries_with(carts: int) -> int:
        for _ in range(carts):
            abandon(make_cart(lines=[(item, 2)]), at=clock.now())
            make_cart(lines=[(item, 1)], status=Cart.Status.CHECKED_OUT, checked_out_at=clock.now())
        figures_rebuilt()  # the checked-out carts were made by hand
        with CaptureQueriesContext(connection) as queries:
            assert check_integrity().ok
        return len(queries)

    assert queries_with(10) == queries_with(30)
