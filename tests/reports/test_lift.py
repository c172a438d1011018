"""The holdout lift: Wilson and Newcombe intervals against the published tables, the sample-size floor, money.

Published values: Newcombe RG, "Interval estimation for the difference between independent proportions: comparison
of eleven methods", Statistics in Medicine 1998; 17:873-890, Table II, method 10 (hybrid score, no continuity
correction); and Newcombe RG, "Two-sided confidence intervals for the single proportion: comparison of seven
methods", Statistics in Medicine 1998; 17:857-872, Table I, method 3 (Wilson score, no continuity correction).
Every value below was also recomputed independently with statsmodels 0.15.0 (``proportion_confint(method="wilson")``
and ``confint_proportions_2indep(method="newcomb")``), which agree to the 4 places printed.
"""

from decimal import Decimal

import pytest

from reports.lift import (
    MIN_ABANDONED_PER_GROUP,
    Z_95,
    GroupFigures,
    compare_groups,
    newcombe_difference,
    wilson_interval,
)

# (x1, n1, x2, n2, difference, low, high): Newcombe (1998), Table II, examples (a)-(f), method 10.
NEWCOMBE_TABLE_II = [
    (56, 70, 48, 80, 0.2000, 0.0524, 0.3339),
    (9, 10, 3, 10, 0.6000, 0.1705, 0.8090),
    (6, 7, 2, 7, 0.5714, 0.0582, 0.8062),
    (5, 56, 0, 29, 0.0893, -0.0381, 0.1926),
    (0, 10, 0, 20, 0.0000, -0.1611, 0.2775),
    (10, 10, 0, 20, 1.0000, 0.6791, 1.0000),
]


def _group(abandoned: int, recovered: int, revenue: str = "0.00") -> GroupFigures:
    return GroupFigures(abandoned=abandoned, recovered=recovered, revenue=Decimal(revenue))


def test_the_default_z_is_the_two_sided_95_percent_normal_quantile():
    assert round(Z_95, 12) == 1.959963984540


@pytest.mark.parametrize(
    ("successes", "trials", "low", "high"),
    [
        # Newcombe (1998), single proportion, Table I, method 3.
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0000, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_interval_matches_newcombes_single_proportion_table(successes, trials, low, high):
    got_low, got_high = wilson_interval(successes, trials)
    assert (round(got_low, 4), round(got_high, 4)) == (low, high)


def test_wilson_interval_is_exactly_zero_or_one_at_the_extremes():
    assert wilson_interval(0, 20)[0] == 0.0
    assert wilson_interval(10, 10)[1] == 1.0


def test_wilson_interval_of_no_trials_is_the_whole_range_without_dividing_by_zero():
    assert wilson_interval(0, 0) == (0.0, 1.0)


@pytest.mark.parametrize(("successes", "trials"), [(-1, 10), (11, 10), (0, -1)])
def test_wilson_interval_refuses_impossible_counts(successes, trials):
    with pytest.raises(ValueError, match="successes <= trials"):
        wilson_interval(successes, trials)


@pytest.mark.parametrize(("x1", "n1", "x2", "n2", "difference", "low", "high"), NEWCOMBE_TABLE_II)
def test_newcombe_difference_matches_the_published_table(x1, n1, x2, n2, difference, low, high):
    got = newcombe_difference(x1, n1, x2, n2)
    assert tuple(round(value, 4) for value in got) == (difference, low, high)


def test_newcombe_difference_is_built_from_the_two_wilson_intervals():
    # Given 56/70 and 48/80, whose Wilson intervals are 0.6918-0.8770 and 0.4905-0.7004 (statsmodels),
    l1, u1 = wilson_interval(56, 70)
    l2, u2 = wilson_interval(48, 80)
    # when the hybrid interval is computed, then its bounds are Newcombe's formula over those limits.
    _, low, high = newcombe_difference(56, 70, 48, 80)
    assert low == pytest.approx(0.2 - ((0.8 - l1) ** 2 + (u2 - 0.6) ** 2) ** 0.5)
    assert high == pytest.approx(0.2 + ((u1 - 0.8) ** 2 + (0.6 - l2) ** 2) ** 0.5)


def test_swapping_the_groups_mirrors_the_difference_and_its_interval():
    difference, low, high = newcombe_difference(56, 70, 48, 80)
    assert newcombe_difference(48, 80, 56, 70) == pytest.approx((-difference, -high, -low))


def test_newcombe_difference_refuses_a_group_with_no_trials():
    with pytest.raises(ValueError, match="at least one trial"):
        newcombe_difference(0, 0, 3, 10)


def test_group_figures_give_rates_and_revenue_per_cart_as_rounded_decimals():
    group = _group(abandoned=30, recovered=10, revenue="200.00")
    assert group.recovery_rate == Decimal("0.3333")
    assert group.revenue_per_abandoned_cart == Decimal("6.67")


def test_a_group_with_no_abandoned_carts_has_no_rate_and_no_revenue_per_cart():
    group = _group(abandoned=0, recovered=0)
    assert group.recovery_rate is None
    assert group.revenue_per_abandoned_cart is None


def test_group_figures_refuse_float_money_and_impossible_counts():
    with pytest.raises(TypeError, match="Decimal"):
        GroupFigures(abandoned=10, recovered=1, revenue=12.5)
    with pytest.raises(ValueError, match="recovered <= abandoned"):
        _group(abandoned=10, recovered=11)


@pytest.mark.parametrize(
    ("treated_abandoned", "holdout_abandoned", "enough"),
    [(29, 30, False), (30, 29, False), (30, 30, True)],
)
def test_the_lift_is_shown_only_from_30_abandoned_carts_in_each_group(treated_abandoned, holdout_abandoned, enough):
    comparison = compare_groups(treated=_group(treated_abandoned, 10), holdout=_group(holdout_abandoned, 5))
    assert MIN_ABANDONED_PER_GROUP == 30
    assert comparison.enough_data is enough
    assert (comparison.lift is not None) is enough
    assert (comparison.incremental_revenue is not None) is enough


def test_too_few_carts_says_not_enough_data_yet_with_the_counts():
    # Given 12 treated and 3 holdout carts, when compared, then no figures are made up and the page says why.
    comparison = compare_groups(treated=_group(12, 4, "80.00"), holdout=_group(3, 0))
    assert (comparison.lift, comparison.lift_ci_low, comparison.lift_ci_high) == (None, None, None)
    assert comparison.incremental_revenue is None
    assert comparison.summary == (
        "Not enough data yet: at least 30 abandoned carts are needed in each group (treated 12, holdout 3)."
    )


def test_groups_with_no_abandoned_carts_compare_without_error():
    comparison = compare_groups(treated=_group(0, 0), holdout=_group(0, 0))
    assert comparison.enough_data is False
    assert comparison.summary.startswith("Not enough data yet")


def test_the_lift_and_its_interval_are_newcombes_figures_as_4_place_decimals():
    # Given Newcombe's example (a), 56/70 treated against 48/80 holdout, both above the floor,
    comparison = compare_groups(treated=_group(70, 56), holdout=_group(80, 48))
    # then the lift is his 0.2000 with the interval 0.0524 to 0.3339, as Decimals, and the method is named.
    assert (comparison.lift, comparison.lift_ci_low, comparison.lift_ci_high) == (
        Decimal("0.2000"),
        Decimal("0.0524"),
        Decimal("0.3339"),
    )
    assert all(value.as_tuple().exponent == -4 for value in (comparison.lift, comparison.lift_ci_low))
    assert "Newcombe" in comparison.method
    assert "Wilson" in comparison.method
    assert comparison.summary == "Reminders lifted the recovery rate by 20.0 points (95 % CI 5.2 to 33.4)."


def test_reminders_that_hurt_recovery_are_reported_as_lowering_it():
    comparison = compare_groups(treated=_group(80, 48), holdout=_group(70, 56))
    assert comparison.lift == Decimal("-0.2000")
    assert comparison.summary == "Reminders lowered the recovery rate by 20.0 points (95 % CI -33.4 to -5.2)."


def test_a_lift_the_interval_cannot_tell_from_zero_is_flagged_as_possibly_chance():
    comparison = compare_groups(treated=_group(50, 16), holdout=_group(50, 15))
    assert comparison.lift_ci_low < 0 < comparison.lift_ci_high
    assert comparison.summary.startswith("Reminders lifted the recovery rate by 2.0 points")
    assert comparison.summary.endswith("; the interval includes zero, so this may be chance.")


def test_equal_groups_show_no_measurable_difference_and_no_negative_zero():
    comparison = compare_groups(treated=_group(50, 15), holdout=_group(50, 15))
    assert comparison.summary.startswith("Reminders made no measurable difference to the recovery rate (0.0 points,")
    assert "-0.0" not in comparison.summary


def test_incremental_revenue_uses_unrounded_revenue_per_cart_times_treated_carts():
    # Given treated 1000.00 over 40 carts (25.00 each) and holdout 200.00 over 30 carts (6.666... each),
    treated = _group(40, 10, "1000.00")
    holdout = _group(30, 3, "200.00")
    # when compared, then by hand (25 - 20/3) x 40 = 1000 - 800/3 = 733.333... -> 733.33
    # (multiplying the rounded per-cart figures, (25.00 - 6.67) x 40, would give 733.20).
    comparison = compare_groups(treated=treated, holdout=holdout)
    assert comparison.incremental_revenue == Decimal("733.33")


def test_incremental_revenue_is_negative_when_the_holdout_earns_more_per_cart():
    # By hand: (300/30 - 600/40) x 30 = (10 - 15) x 30 = -150.00
    comparison = compare_groups(treated=_group(30, 6, "300.00"), holdout=_group(40, 9, "600.00"))
    assert comparison.incremental_revenue == Decimal("-150.00")


def test_the_comparison_is_frozen():
    comparison = compare_groups(treated=_group(30, 10), holdout=_group(30, 5))
    with pytest.raises(AttributeError):
        comparison.lift = Decimal("1")  # type: ignore[misc]
