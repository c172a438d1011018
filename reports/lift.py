"""Holdout lift: how much do reminder emails change cart recovery?

Shoppers whose cart is abandoned are assigned at random to a *treated* group (they get reminders) or a *holdout*
group (they get none). Because the assignment is random, the difference in recovery rate between the groups is the
effect of the reminders, give or take chance; the confidence interval says how much chance.

The interval is Newcombe's hybrid score interval for a difference of two independent proportions (method 10 of
Newcombe, "Interval estimation for the difference between independent proportions: comparison of eleven methods",
Statistics in Medicine 1998; 17:873-890), built from a Wilson score interval for each group, without continuity
correction. It stays inside [-1, 1], behaves at 0 % and 100 % and with small groups, where the textbook Wald
interval does not. It is ten lines of arithmetic, written here rather than pulling in statsmodels (and numpy,
scipy, pandas) for them; the tests check it against Newcombe's published table.
"""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from math import sqrt
from statistics import NormalDist

# Two-sided 95 %: the 97.5th percentile of the standard normal distribution (1.959963984540054).
Z_95 = NormalDist().inv_cdf(0.975)

METHOD = "Newcombe hybrid score interval (Wilson), 95 %"

# The interval is only shown when each group has at least 30 abandoned carts. With fewer, the interval is so wide
# that a single recovered cart swings the headline figure and the page would mislead more than it informs; 30 per
# group is the conventional floor for treating a sample proportion as roughly normal.
MIN_ABANDONED_PER_GROUP = 30

_RATE = Decimal("0.0001")
_MONEY = Decimal("0.01")
_POINTS = Decimal("0.1")


def wilson_interval(successes: int, trials: int, *, z: float = Z_95) -> tuple[float, float]:
    """Wilson score interval (no continuity correction) for ``successes`` out of ``trials``.

    With no trials there is no information, and the interval is the whole range (0.0, 1.0).
    """
    if trials < 0 or not 0 <= successes <= trials:
        raise ValueError(f"need 0 <= successes <= trials, got {successes} of {trials}")
    z2 = z * z
    centre = (successes + z2 / 2) / (trials + z2)
    spread = successes * (trials - successes) / trials if trials else 0.0
    half_width = z * sqrt(spread + z2 / 4) / (trials + z2)
    # At 0 or all successes the bound is exactly 0 or 1; say so rather than leave a float residue like 1e-17.
    low = 0.0 if successes == 0 else max(0.0, centre - half_width)
    high = 1.0 if successes == trials else min(1.0, centre + half_width)
    return low, high


def newcombe_difference(x1: int, n1: int, x2: int, n2: int, *, z: float = Z_95) -> tuple[float, float, float]:
    """Difference ``x1/n1 - x2/n2`` with Newcombe's hybrid score interval: ``(difference, low, high)``.

    Each group needs at least one trial: with none, its proportion, and so the difference, is undefined.
    """
    if n1 <= 0 or n2 <= 0:
        raise ValueError(f"each group needs at least one trial, got n1={n1}, n2={n2}")
    p1, p2 = x1 / n1, x2 / n2
    l1, u1 = wilson_interval(x1, n1, z=z)
    l2, u2 = wilson_interval(x2, n2, z=z)
    difference = p1 - p2
    low = difference - sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = difference + sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return difference, low, high


@dataclass(frozen=True)
class GroupFigures:
    """One group's carts: how many were abandoned, how many of those were recovered, and the recovered revenue."""

    abandoned: int
    recovered: int
    revenue: Decimal

    def __post_init__(self):
        if self.abandoned < 0 or not 0 <= self.recovered <= self.abandoned:
            raise ValueError(f"need 0 <= recovered <= abandoned, got {self.recovered} of {self.abandoned}")
        if not isinstance(self.revenue, Decimal):
            raise TypeError("revenue is money: pass a Decimal")

    @property
    def recovery_rate(self) -> Decimal | None:
        """Recovered / abandoned, to 4 places (0.1234 = 12.34 %); None when nothing was abandoned."""
        if not self.abandoned:
            return None
        return (Decimal(self.recovered) / self.abandoned).quantize(_RATE, ROUND_HALF_UP)

    @property
    def revenue_per_abandoned_cart(self) -> Decimal | None:
        """Recovered revenue spread over every abandoned cart, to the cent; None when nothing was abandoned."""
        if not self.abandoned:
            return None
        return (self.revenue / self.abandoned).quantize(_MONEY, ROUND_HALF_UP)


@dataclass(frozen=True)
class HoldoutComparison:
    """Treated against holdout, as the report shows it. Lift figures are None until ``enough_data``."""

    treated: GroupFigures
    holdout: GroupFigures
    enough_data: bool
    lift: Decimal | None
    lift_ci_low: Decimal | None
    lift_ci_high: Decimal | None
    method: str
    incremental_revenue: Decimal | None
    summary: str


def compare_groups(*, treated: GroupFigures, holdout: GroupFigures) -> HoldoutComparison:
    """Lift in recovery rate (treated minus holdout) with its 95 % interval, and the incremental revenue.

    Incremental revenue is what the treated group earned beyond what it would have at the holdout's revenue per
    abandoned cart: (treated per cart - holdout per cart) x treated abandoned. It is computed from the unrounded
    per-cart figures and rounded once, to the cent, at the end.
    """
    enough_data = min(treated.abandoned, holdout.abandoned) >= MIN_ABANDONED_PER_GROUP
    if not enough_data:
        summary = (
            f"Not enough data yet: at least {MIN_ABANDONED_PER_GROUP} abandoned carts are needed in each group "
            f"(treated {treated.abandoned}, holdout {holdout.abandoned})."
        )
        return HoldoutComparison(treated, holdout, False, None, None, None, METHOD, None, summary)

    difference, low, high = newcombe_difference(
        treated.recovered, treated.abandoned, holdout.recovered, holdout.abandoned
    )
    lift, lift_ci_low, lift_ci_high = (_rate(value) for value in (difference, low, high))
    extra_per_cart = treated.revenue / treated.abandoned - holdout.revenue / holdout.abandoned
    incremental_revenue = (extra_per_cart * treated.abandoned).quantize(_MONEY, ROUND_HALF_UP)
    summary = _lift_sentence(lift=lift, low=lift_ci_low, high=lift_ci_high)
    return HoldoutComparison(
        treated, holdout, True, lift, lift_ci_low, lift_ci_high, METHOD, incremental_revenue, summary
    )


def _rate(value: float) -> Decimal:
    """A float proportion as a Decimal to 4 places (Decimal(float) is exact, so this rounds the float once)."""
    return Decimal(value).quantize(_RATE, ROUND_HALF_UP)


def _points(rate: Decimal) -> Decimal:
    """A rate difference as percentage points to one place, never "-0.0"."""
    points = (rate * 100).quantize(_POINTS, ROUND_HALF_UP)
    return abs(points) if points == 0 else points


def _lift_sentence(*, lift: Decimal, low: Decimal, high: Decimal) -> str:
    points = _points(lift)
    interval = f"95 % CI {_points(low)} to {_points(high)}"
    if points > 0:
        sentence = f"Reminders lifted the recovery rate by {points} points ({interval})"
    elif points < 0:
        sentence = f"Reminders lowered the recovery rate by {-points} points ({interval})"
    else:
        sentence = f"Reminders made no measurable difference to the recovery rate (0.0 points, {interval})"
    # A staff reader should not take a difference the interval cannot tell from zero as a result.
    if low <= 0 <= high and points != 0:
        sentence += "; the interval includes zero, so this may be chance"
    return sentence + "."
