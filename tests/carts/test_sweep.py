"""The sweep's life-cycle rules, with time moved explicitly (never slept)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.utils import timezone

from carts import services, sweep
from carts.models import AbandonmentLog, Cart
from carts.sweep import stale_carts, sweep_abandoned_carts
from tests.carts.factories import make_cart
from tests.catalog.factories import ItemFactory
from tests.users.factories import UserFactory

pytestmark = pytest.mark.django_db

THRESHOLD = settings.CART_ABANDON_AFTER_SECONDS
STALE = timedelta(days=2)


@pytest.fixture
def cart_touched_now(shopper, item, clock):
    """A shopper's cart with two units, last touched at clock.now() (through the service, as a shopper would)."""
    cart, _ = services.cart_add_item(user=shopper, item=item, quantity=2, now=clock.now())
    return cart


def test_a_cart_untouched_one_second_less_than_the_threshold_stays_active(cart_touched_now, clock):
    clock.advance(seconds=THRESHOLD - 1)

    result = sweep_abandoned_carts(now=clock.now())

    cart_touched_now.refresh_from_db()
    assert result.marked == 0
    assert cart_touched_now.status == Cart.Status.ACTIVE
    assert not AbandonmentLog.objects.exists()


def test_a_cart_untouched_exactly_the_threshold_stays_active(cart_touched_now, clock):
    clock.advance(seconds=THRESHOLD)

    assert sweep_abandoned_carts(now=clock.now()).marked == 0


def test_a_cart_untouched_one_second_past_the_threshold_is_abandoned_and_logged_with_its_snapshot(
    cart_touched_now, item, clock
):
    clock.advance(seconds=THRESHOLD + 1)

    result = sweep_abandoned_carts(now=clock.now())

    cart_touched_now.refresh_from_db()
    assert (result.marked, result.logged) == (1, 1)
    assert cart_touched_now.status == Cart.Status.ABANDONED
    assert cart_touched_now.abandoned_at == clock.now()
    log = AbandonmentLog.objects.get(cart=cart_touched_now)
    assert log.abandoned_at == clock.now()
    assert log.item_count == 2
    assert log.total == item.price * 2


def test_the_abandonment_threshold_comes_from_settings(cart_touched_now, clock, settings):
    settings.CART_ABANDON_AFTER_SECONDS = 60
    clock.advance(seconds=61)

    assert sweep_abandoned_carts(now=clock.now()).marked == 1


def test_older_than_overrides_the_threshold(cart_touched_now, clock):
    clock.advance(seconds=31)

    assert sweep_abandoned_carts(now=clock.now(), older_than_seconds=60).marked == 0
    assert sweep_abandoned_carts(now=clock.now(), older_than_seconds=30).marked == 1


def test_an_empty_cart_is_never_abandoned(shopper, item, clock):
    cart, _ = services.cart_add_item(user=shopper, item=item, quantity=1, now=clock.now())
    services.cart_remove_item(cart_id=cart.pk, item_id=item.pk, quantity=None, user=shopper, now=clock.now())
    clock.advance(days=30)

    result = sweep_abandoned_carts(now=clock.now())

    cart.refresh_from_db()
    assert result.marked == 0
    assert cart.status == Cart.Status.ACTIVE
    assert cart.abandoned_at is None


def test_a_checked_out_cart_is_never_touched(cart_touched_now, shopper, clock):
    services.cart_checkout(cart_id=cart_touched_now.pk, user=shopper, now=clock.now())
    clock.advance(days=30)

    result = sweep_abandoned_carts(now=clock.now())

    cart_touched_now.refresh_from_db()
    assert result.marked == 0
    assert cart_touched_now.status == Cart.Status.CHECKED_OUT
    assert cart_touched_now.abandoned_at is None
    assert not AbandonmentLog.objects.exists()


def test_a_second_sweep_marks_nothing_and_writes_no_second_log(cart_touched_now, clock):
    clock.advance(seconds=THRESHOLD + 1)
    first_sweep_at = clock.now()
    sweep_abandoned_carts(now=first_sweep_at)
    clock.advance(seconds=THRESHOLD * 3)

    result = sweep_abandoned_carts(now=clock.now())

    cart_touched_now.refresh_from_db()
    assert result.marked == 0
    assert cart_touched_now.abandoned_at == first_sweep_at
    assert AbandonmentLog.objects.filter(cart=cart_touched_now).count() == 1


def test_a_returning_shopper_reactivates_the_same_cart_and_a_second_abandonment_writes_no_second_log(
    cart_touched_now, shopper, item, clock
):
    clock.advance(seconds=THRESHOLD + 1)
    first_abandonment = clock.now()
    sweep_abandoned_carts(now=first_abandonment)

    # The shopper comes back: an add to the abandoned cart reactivates it.
    clock.advance(hours=1)
    returned_at = clock.now()
    cart, _ = services.cart_add_item(user=shopper, item=item, quantity=1, now=returned_at)
    assert cart.pk == cart_touched_now.pk
    assert cart.status == Cart.Status.ACTIVE
    assert cart.recovered_at == returned_at

    # Left again: abandoned a second time, abandoned_at moves on, recovered_at and the first log stay.
    clock.advance(seconds=THRESHOLD + 1)
    second_abandonment = clock.now()
    result = sweep_abandoned_carts(now=second_abandonment)

    cart.refresh_from_db()
    assert (result.marked, result.logged) == (1, 0)
    assert cart.status == Cart.Status.ABANDONED
    assert cart.abandoned_at == second_abandonment
    assert cart.recovered_at == returned_at
    log = AbandonmentLog.objects.get(cart=cart)
    assert (log.abandoned_at, log.item_count) == (first_abandonment, 2)

    # Back a second time: still the same cart, recovered_at is kept from the first return.
    clock.advance(minutes=5)
    viewed = services.cart_open_for_owner_view(user=shopper, now=clock.now())
    assert viewed.pk == cart.pk
    assert viewed.status == Cart.Status.ACTIVE
    assert viewed.recovered_at == returned_at
    assert AbandonmentLog.objects.count() == 1


def test_a_recovered_cart_is_not_abandoned_again_before_the_threshold(cart_touched_now, shopper, clock):
    clock.advance(seconds=THRESHOLD + 1)
    sweep_abandoned_carts(now=clock.now())
    services.cart_open_for_owner_view(user=shopper, now=clock.now())

    clock.advance(seconds=THRESHOLD - 1)

    assert sweep_abandoned_carts(now=clock.now()).marked == 0


def test_a_cart_touched_while_the_sweep_runs_is_not_marked(monkeypatch, item, clock):
    # Given three stale carts, and a sweep that works one cart per batch
    owners = UserFactory.create_batch(3)
    carts = [make_cart(user=owner, lines=[(item, 1)], last_updated=clock.now()) for owner in owners]
    clock.advance(seconds=THRESHOLD + 1)
    sweep_started_at = clock.now()

    # When the last cart's owner adds an item after the sweep's first batch (the sweep is still running)
    real_mark_batch = sweep._mark_batch
    touched = []

    def mark_batch_then_shopper_returns(**kwargs):
        batch = real_mark_batch(**kwargs)
        if not touched:
            clock.advance(seconds=1)
            services.cart_add_item(user=owners[2], item=item, quantity=1, now=clock.now())
            touched.append(True)
        return batch

    monkeypatch.setattr(sweep, "_mark_batch", mark_batch_then_shopper_returns)
    result = sweep_abandoned_carts(now=sweep_started_at, batch_size=1)

    # Then that cart stays active and unlogged; the other two are abandoned
    assert result.marked == 2
    assert [c.status for c in _reload(carts)] == ["abandoned", "abandoned", "active"]
    assert set(AbandonmentLog.objects.values_list("cart_id", flat=True)) == {carts[0].pk, carts[1].pk}


def test_the_update_rechecks_the_rule_so_a_cart_changed_after_it_was_picked_is_not_marked(monkeypatch, item, clock):
    # Given two stale carts, and a candidate list that (as if read before a concurrent checkout) still holds both
    first, second = (make_cart(lines=[(item, 1)], last_updated=clock.now()) for _ in range(2))
    clock.advance(seconds=THRESHOLD + 1)
    Cart.objects.filter(pk=second.pk).update(status=Cart.Status.CHECKED_OUT, checked_out_at=clock.now())

    def candidates_ignoring_the_rule(**kwargs):
        # A candidate SELECT without the rule: both carts are "picked"; only the UPDATE's re-check can filter.
        return Cart.objects.filter(pk__in=[first.pk, second.pk], abandoned_at__isnull=True).values_list(
            "id", "last_updated", "abandoned_at"
        )

    monkeypatch.setattr(sweep, "_candidates", candidates_ignoring_the_rule)

    result = sweep_abandoned_carts(now=clock.now())

    first.refresh_from_db()
    second.refresh_from_db()
    assert result.marked == 1
    assert first.status == Cart.Status.ABANDONED
    assert second.status == Cart.Status.CHECKED_OUT
    assert second.abandoned_at is None
    assert list(AbandonmentLog.objects.values_list("cart_id", flat=True)) == [first.pk]


def test_many_stale_carts_are_all_marked_once_across_batches_with_a_bounded_number_of_queries(
    clock, django_assert_max_num_queries
):
    # Given 25 stale carts with distinct contents, 3 fresh ones, an empty one and a checked-out one
    items = ItemFactory.create_batch(3, price=Decimal("2.50"))
    stale = [make_cart(lines=[(items[n % 3], n + 1)], last_updated=clock.now()) for n in range(25)]
    clock.advance(seconds=THRESHOLD + 1)
    fresh = [make_cart(lines=[(items[0], 1)], last_updated=clock.now()) for _ in range(3)]
    empty = make_cart(last_updated=clock.now() - timedelta(days=1))
    checked_out = make_cart(
        lines=[(items[1], 1)],
        status=Cart.Status.CHECKED_OUT,
        checked_out_at=clock.now() - timedelta(days=1),
        last_updated=clock.now() - timedelta(days=1),
    )

    # When one sweep runs with batches of 10: a bounded count to choose the order, 3 batches, then an empty one that
    # ends it. Per batch at most six queries: savepoint (the test's transaction wraps the sweep's), the candidates
    # (SQLite; one statement with the rest on PostgreSQL), UPDATE, INSERT of the logs, the report's figures, release.
    with django_assert_max_num_queries(1 + 4 * 6):
        result = sweep_abandoned_carts(now=clock.now(), batch_size=10)

    # Then exactly the stale carts are abandoned, each with one log holding its own snapshot
    assert (result.marked, result.logged, result.batches) == (25, 25, 3)
    assert set(Cart.objects.filter(status="abandoned").values_list("pk", flat=True)) == {c.pk for c in stale}
    logs = {log.cart_id: (log.item_count, log.total) for log in AbandonmentLog.objects.all()}
    assert logs == {c.pk: (n + 1, Decimal("2.50") * (n + 1)) for n, c in enumerate(stale)}
    assert all(c.status == "active" for c in _reload([*fresh, empty]))
    assert _reload([checked_out])[0].abandoned_at is None


def test_carts_with_the_same_last_updated_across_a_batch_boundary_are_all_marked(item, clock):
    carts = [make_cart(lines=[(item, 1)], last_updated=clock.now()) for _ in range(7)]
    clock.advance(seconds=THRESHOLD + 1)

    result = sweep_abandoned_carts(now=clock.now(), batch_size=3)

    assert result.marked == 7
    assert all(c.status == "abandoned" for c in _reload(carts))
    assert AbandonmentLog.objects.count() == 7


@pytest.mark.parametrize("catch_up_batches", [1, 1000], ids=["catch-up, in id order", "oldest first"])
def test_both_batch_orders_mark_every_stale_cart_once_and_nothing_else(monkeypatch, item, clock, catch_up_batches):
    # Given stale carts whose age order is not their id order, and carts that must stay as they are
    monkeypatch.setattr(sweep, "CATCH_UP_BATCHES", catch_up_batches)
    stale = [
        make_cart(lines=[(item, 1)], last_updated=clock.now() - timedelta(seconds=(n * 7) % 11)) for n in range(11)
    ]
    clock.advance(seconds=THRESHOLD + 1)
    fresh = make_cart(lines=[(item, 1)], last_updated=clock.now())
    checked_out = make_cart(
        lines=[(item, 1)], status=Cart.Status.CHECKED_OUT, checked_out_at=clock.now(), last_updated=clock.now() - STALE
    )

    result = sweep_abandoned_carts(now=clock.now(), batch_size=2)

    assert (result.marked, result.logged, result.batches) == (11, 11, 6)
    assert all(c.status == "abandoned" for c in _reload(stale))
    assert [c.status for c in _reload([fresh, checked_out])] == ["active", "checked_out"]
    assert set(AbandonmentLog.objects.values_list("cart_id", flat=True)) == {c.pk for c in stale}


def test_a_dry_run_counts_the_stale_carts_and_marks_nothing(cart_touched_now, clock):
    clock.advance(seconds=THRESHOLD + 1)

    result = sweep_abandoned_carts(now=clock.now(), dry_run=True)

    cart_touched_now.refresh_from_db()
    assert result.dry_run
    assert (result.would_mark, result.marked) == (1, 0)
    assert cart_touched_now.status == Cart.Status.ACTIVE
    assert not AbandonmentLog.objects.exists()


def test_the_named_rule_selects_what_the_sweep_marks(cart_touched_now, clock):
    assert not stale_carts(now=clock.now()).exists()
    clock.advance(seconds=THRESHOLD + 1)
    assert list(stale_carts(now=clock.now())) == [cart_touched_now]


def test_a_negative_threshold_is_refused(clock):
    with pytest.raises(ValueError, match="negative"):
        sweep_abandoned_carts(now=clock.now(), older_than_seconds=-1)


# --- the command ---------------------------------------------------------------------------------------------------


def _stale_cart(item, *, age_seconds: int) -> Cart:
    return make_cart(lines=[(item, 1)], last_updated=timezone.now() - timedelta(seconds=age_seconds))


def test_the_command_marks_stale_carts_and_says_how_many_and_how_long(item, capsys):
    cart = _stale_cart(item, age_seconds=THRESHOLD + 60)

    call_command("sweep_abandoned_carts")

    out = capsys.readouterr().out
    cart.refresh_from_db()
    assert cart.status == Cart.Status.ABANDONED
    assert "1 cart marked abandoned" in out
    assert " s" in out


def test_the_command_dry_run_says_what_it_would_mark_and_marks_nothing(item, capsys):
    cart = _stale_cart(item, age_seconds=THRESHOLD + 60)

    call_command("sweep_abandoned_carts", "--dry-run")

    cart.refresh_from_db()
    assert cart.status == Cart.Status.ACTIVE
    out = capsys.readouterr().out
    assert "Dry run: 1 cart would be marked abandoned" in out
    assert f"cart {cart.pk}  {cart.user.email}  {cart.item_count} units" in out


def test_the_command_dry_run_names_the_oldest_stale_carts_and_counts_the_rest(item, capsys, monkeypatch):
    monkeypatch.setattr("carts.management.commands.sweep_abandoned_carts.DRY_RUN_LISTED", 2)
    carts = [_stale_cart(item, age_seconds=THRESHOLD + 60 * n) for n in (3, 1, 2)]

    call_command("sweep_abandoned_carts", "--dry-run")

    out = capsys.readouterr().out
    listed = [line.split()[1] for line in out.splitlines() if line.startswith("  cart ")]
    assert listed == [str(carts[0].pk), str(carts[2].pk)]  # the two oldest, oldest first
    assert "... and 1 more." in out
    assert Cart.objects.filter(status=Cart.Status.ABANDONED).count() == 0


def test_the_command_older_than_overrides_the_threshold(item, capsys):
    cart = _stale_cart(item, age_seconds=120)

    call_command("sweep_abandoned_carts", "--older-than", "60")

    cart.refresh_from_db()
    assert cart.status == Cart.Status.ABANDONED
    assert "1 cart marked abandoned" in capsys.readouterr().out


def test_the_command_refuses_a_negative_older_than(item):
    with pytest.raises(CommandError, match="older-than"):
        call_command("sweep_abandoned_carts", "--older-than", "-5")


def _reload(carts):
    by_pk = Cart.objects.in_bulk([c.pk for c in carts])
    return [by_pk[c.pk] for c in carts]
