"""A month of carts with known figures, shared by the report tests (selectors, page, CSV, metrics).

November 2026 (UTC), period ``since=2026-11-01&until=2026-11-30`` = [Nov 1 00:00, Dec 1 00:00):

| cart | abandoned_at     | now          | came back                   | total  | in November's figures        |
|------|------------------|--------------|-----------------------------|--------|------------------------------|
| k    | Nov 1 00:00      | abandoned    | -                           |  10.00 | abandoned, left              |
| a    | Nov 5 10:00      | abandoned    | -                           |  30.00 | abandoned, left              |
| b    | Nov 5 12:00      | abandoned    | -                           |  20.00 | abandoned, left              |
| l    | Nov 8 (again)    | abandoned    | once, Nov 3, then left      |   5.00 | abandoned, left (not recov.) |
| c    | Nov 10           | checked out  | Nov 11, email link          |  50.00 | recovered, revenue           |
| d    | Nov 12           | active       | Nov 12, on their own        |  15.00 | came back, not bought        |
| e    | Nov 20           | checked out  | Dec 3 (a later period)      |  40.00 | recovered, revenue           |
| f    | never            | checked out  | Nov 15, never abandoned     |  99.00 | ended (denominator)          |
| g    | never            | checked out  | Oct 20, never abandoned     |  25.00 | -                            |
| h    | Oct 25           | checked out  | Nov 2, email link           |  70.00 | - (October's)                |
| i    | never            | active       | -                           |  12.00 | -                            |
| j    | Dec 1 00:00      | abandoned    | -                           |   8.00 | - (December's)               |

November, by hand: abandoned 7 (k a b l c d e); ended 7 + 1 (f) = 8 -> abandonment rate 7/8 = 87.5 %;
still abandoned 4, left 10 + 30 + 20 + 5 = 65.00; recovered (came back and checked out) 2 (c e), revenue
50 + 40 = 90.00; came back, not bought 1 (d); recovery rate 2/7 = 28.57 %; via email link 1 (c, 50.00), on their
own 1 (e, 40.00).
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from carts.models import Cart
from tests.carts.factories import CartFactory
from tests.helpers import figures_rebuilt

NOVEMBER = {"since": "2026-11-01", "until": "2026-11-30"}


def at(month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


@dataclass
class Month:
    carts: dict[str, Cart]

    def ids(self, *names: str) -> list[int]:
        return [self.carts[name].pk for name in names]


def _cart(*, status, total, abandoned_at=None, recovered_at=None, source="", checked_out_at=None, items=1):
    last_activity = max(moment for moment in (abandoned_at, recovered_at, checked_out_at, at(10, 1)) if moment)
    return CartFactory(
        status=status,
        created_at=at(10, 1),
        last_updated=last_activity,
        abandoned_at=abandoned_at,
        recovered_at=recovered_at,
        recovery_source=source,
        checked_out_at=checked_out_at,
        item_count=items,
        total=Decimal(total),
    )


def build_month() -> Month:
    abandoned, active, checked_out = Cart.Status.ABANDONED, Cart.Status.ACTIVE, Cart.Status.CHECKED_OUT
    email, returned = Cart.RecoverySource.EMAIL_LINK, Cart.RecoverySource.RETURNED
    carts = {
        "k": _cart(status=abandoned, total="10.00", abandoned_at=at(11, 1)),
        "a": _cart(status=abandoned, total="30.00", abandoned_at=at(11, 5, 10), items=3),
        "b": _cart(status=abandoned, total="20.00", abandoned_at=at(11, 5, 12), items=2),
        "l": _cart(status=abandoned, total="5.00", abandoned_at=at(11, 8), recovered_at=at(11, 3), source=returned),
        "c": _cart(
            status=checked_out,
            total="50.00",
            abandoned_at=at(11, 10),
            recovered_at=at(11, 11),
            source=email,
            checked_out_at=at(11, 11, 1),
        ),
        "d": _cart(status=active, total="15.00", abandoned_at=at(11, 12), recovered_at=at(11, 12, 5), source=returned),
        "e": _cart(
            status=checked_out,
            total="40.00",
            abandoned_at=at(11, 20),
            recovered_at=at(12, 3),
            source=returned,
            checked_out_at=at(12, 3, 1),
        ),
        "f": _cart(status=checked_out, total="99.00", checked_out_at=at(11, 15)),
        "g": _cart(status=checked_out, total="25.00", checked_out_at=at(10, 20)),
        "h": _cart(
            status=checked_out,
            total="70.00",
            abandoned_at=at(10, 25),
            recovered_at=at(11, 2),
            source=email,
            checked_out_at=at(11, 2, 1),
        ),
        "i": _cart(status=active, total="12.00"),
        "j": _cart(status=abandoned, total="8.00", abandoned_at=at(12, 1)),
    }
    figures_rebuilt()  # the carts were written directly, not through the services that keep the figures
    return Month(carts=carts)


# The table's order for November: newest abandonment first.
NOVEMBER_ROWS = ["e", "d", "c", "l", "b", "a", "k"]
