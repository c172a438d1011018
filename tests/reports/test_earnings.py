"""What the reminders earn: the funnel per step, the coupons' cost and the holdout comparison, on a hand-computed
scenario run through the real services (sweep, sender, recovery link, checkout)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail

from carts import services
from carts.models import Cart, Coupon
from core.integrity import check_integrity
from recovery.links import recovery_link_open
from recovery.models import CampaignStep, RecoveryEmail
from recovery.sending import send_due_recovery_emails
from recovery.tokens import make_recovery_token
from reports.selectors import ReportFilters, holdout_comparison, report_summary, step_funnel
from tests.catalog.factories import ItemFactory
from tests.recovery.factories import make_campaign
from tests.users.factories import UserFactory

pytestmark = pytest.mark.django_db

HOUR, DAY = 3600, 86_400


@pytest.fixture
def scenario(clock, settings):
    """Four carts abandoned at the same minute and reminded by a two-step campaign whose first step offers 10 % off
    carts of at least 20.00:

    - A: step 1 sent, its link used, bought with the coupon (total 40.00, discount 4.00, paid 36.00)
    - B: step 1 sent and ignored, step 2 sent, its link used, bought without coupon (30.00)
    - C: step 1 sent, the shopper came back on their own before step 2 and bought (25.00)
    - D: step 1 sent, never came back (50.00 left)
    """
    settings.CART_ABANDON_AFTER_SECONDS = 600
    campaign = make_campaign(delays=(HOUR, DAY))
    CampaignStep.objects.filter(campaign=campaign, position=1).update(
        offer_kind="percent", offer_value=Decimal("10"), offer_min_total=Decimal("20.00"), offer_valid_days=7
    )
    prices = {"A": "40.00", "B": "30.00", "C": "25.00", "D": "50.00"}
    shoppers = {name: UserFactory() for name in prices}
    for name, price in prices.items():
        services.cart_add_item(user=shoppers[name], item=ItemFactory(price=Decimal(price)), quantity=1, now=clock.now())
    carts = {name: Cart.objects.get(user=user) for name, user in shoppers.items()}
    start = clock.now()
    from carts.sweep import sweep_abandoned_carts

    assert sweep_abandoned_carts(now=clock.advance(seconds=601)).marked == 4
    assert send_due_recovery_emails(now=clock.advance(seconds=HOUR)).sent == 4  # step 1 to all four

    def use_link(name):
        email = RecoveryEmail.objects.get(cart=carts[name], status="sent", step=max_step(carts[name]))
        recovery_link_open(token=make_recovery_token(cart_id=carts[name].pk, email_id=email.pk), now=clock.now())

    clock.advance(minutes=30)
    use_link("A")
    coupon = RecoveryEmail.objects.get(cart=carts["A"], step=1).coupon
    services.cart_checkout(cart_id=carts["A"].pk, user=shoppers["A"], now=clock.now(), coupon=coupon.code)
    services.cart_open_for_owner_view(user=shoppers["C"], now=clock.advance(hours=2))  # C comes back on its own
    services.cart_checkout(cart_id=carts["C"].pk, user=shoppers["C"], now=clock.now())
    assert send_due_recovery_emails(now=start + timedelta(seconds=601 + DAY)).sent == 2  # step 2 to B and D
    clock.advance(days=1)
    use_link("B")
    services.cart_checkout(cart_id=carts["B"].pk, user=shoppers["B"], now=clock.now())
    return {"carts": carts, "since": start - timedelta(days=1), "until": clock.now() + timedelta(days=1)}


def max_step(cart) -> int:
    return max(RecoveryEmail.objects.filter(cart=cart, status="sent").values_list("step", flat=True))


def test_the_funnel_per_step_matches_the_hand_computed_one(scenario):
    funnel = step_funnel(filters=ReportFilters(since=scenario["since"], until=scenario["until"]))

    assert [(s.step, s.sent, s.clicked, s.recovered, s.revenue, s.coupon_cost) for s in funnel] == [
        (1, 4, 1, 2, Decimal("61.00"), Decimal("4.00")),  # A (36.00 paid) and C (25.00) came back after step 1
        (2, 2, 1, 1, Decimal("30.00"), Decimal("0.00")),  # B came back from step 2's link; D never
    ]


def test_revenue_is_what_was_paid_and_the_discount_is_shown_beside_it(scenario):
    summary = report_summary(filters=ReportFilters(since=scenario["since"], until=scenario["until"]))

    assert (summary.abandoned, summary.recovered, summary.still_abandoned) == (4, 3, 1)
    assert summary.recovered_revenue == Decimal("91.00")  # 36.00 + 25.00 + 30.00
    assert summary.discounts == Decimal("4.00")
    assert summary.revenue_left == Decimal("50.00")
    assert (summary.recovered_via_email, summary.recovered_via_email_revenue) == (2, Decimal("66.00"))


def test_the_figures_kept_along_the_way_are_what_the_carts_and_emails_hold(scenario):
    report = check_integrity()

    assert report.ok, report.violations


def test_a_period_given_to_the_minute_counts_its_edges_from_the_carts_themselves(scenario):
    # Bounds in the middle of 15-minute buckets: the buckets inside are summed, the minutes outside read from rows.
    abandoned_at = (
        scenario["carts"]["A"].abandoned_at if False else Cart.objects.get(pk=scenario["carts"]["A"].pk).abandoned_at
    )
    inside = ReportFilters(since=abandoned_at - timedelta(minutes=7), until=abandoned_at + timedelta(minutes=1))
    before = ReportFilters(since=abandoned_at - timedelta(minutes=7), until=abandoned_at)

    assert report_summary(filters=inside).abandoned == 4
    assert report_summary(filters=before).abandoned == 0


def test_the_metrics_give_the_funnel_and_say_there_is_not_enough_data_for_a_lift(scenario, staff_client):
    data = staff_client.get(
        "/api/report/metrics/", {"since": scenario["since"].isoformat(), "until": scenario["until"].isoformat()}
    ).json()

    assert data["steps"] == [
        {"step": 1, "sent": 4, "clicked": 1, "recovered": 2, "revenue": "61.00", "coupon_cost": "4.00"},
        {"step": 2, "sent": 2, "clicked": 1, "recovered": 1, "revenue": "30.00", "coupon_cost": "0.00"},
    ]
    assert data["revenue_recovered"] == "91.00"
    assert data["discounts_given"] == "4.00"
    assert data["holdout"]["enough_data"] is False
    assert data["holdout"]["lift"] is None
    assert data["holdout"]["treated"]["abandoned"] == 4  # drawn at the campaign's first run after the abandonment


def test_each_coupon_is_single_use_and_shown_with_its_state(scenario, staff_client):
    used = RecoveryEmail.objects.get(cart=scenario["carts"]["A"], step=1)
    unused = RecoveryEmail.objects.get(cart=scenario["carts"]["D"], step=1)

    assert Coupon.objects.count() == 4  # one per email of step 1; step 2 has no offer
    assert len(set(Coupon.objects.values_list("code", flat=True))) == 4
    assert staff_client.get(f"/api/recovery-emails/{used.pk}/").json()["coupon"]["status"] == "redeemed"
    assert staff_client.get(f"/api/recovery-emails/{unused.pk}/").json()["coupon"]["status"] == "issued"
    assert staff_client.get(f"/api/recovery-emails/{unused.pk + 100}/").status_code == 404
    (first_reminder_of_d,) = [m for m in mail.outbox if m.to == [unused.cart.user.email] and "10 % off" in m.body]
    assert unused.coupon.code in first_reminder_of_d.body


def test_holdout_with_enough_carts_gives_a_lift_with_its_interval(clock):
    # 60 treated carts of which 30 bought after reminders, 40 holdout carts of which 8 came back on their own.
    for group, count, bought in (("treated", 60, 30), ("holdout", 40, 8)):
        for n in range(count):
            cart = Cart.objects.create(
                user=UserFactory(),
                status=Cart.Status.CHECKED_OUT if n < bought else Cart.Status.ABANDONED,
                abandoned_at=clock.now(),
                recovered_at=clock.now() if n < bought else None,
                checked_out_at=clock.now() if n < bought else None,
                total=Decimal("10.00"),
                paid=Decimal("10.00") if n < bought else None,
                recovery_group=group,
            )
            assert cart.pk
    from tests.helpers import figures_rebuilt

    figures_rebuilt()

    comparison = holdout_comparison(filters=ReportFilters(since=clock.now() - timedelta(hours=1)))

    assert comparison.enough_data
    assert comparison.lift == Decimal("0.3000")  # 50 % - 20 %
    assert comparison.lift_ci_low < comparison.lift < comparison.lift_ci_high
    assert comparison.incremental_revenue == Decimal("180.00")  # (5.00 - 2.00 per abandoned cart) * 60 treated carts
    assert comparison.method.startswith("Newcombe")
