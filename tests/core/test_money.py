"""One money format for people: the currency code, then the amount with two decimals and thousands separators."""

from decimal import Decimal

import pytest

from core.money import format_money


@pytest.mark.parametrize(
    ("amount", "written"),
    [(Decimal("0"), "USD 0.00"), (Decimal("6.75"), "USD 6.75"), (Decimal("1234.5"), "USD 1,234.50")],
)
def test_an_amount_is_written_with_the_currency_code_first(amount, written):
    assert format_money(amount) == written


def test_the_currency_is_the_shops(settings):
    settings.CART_CURRENCY = "EUR"

    assert format_money(Decimal("19.99")) == "EUR 19.99"
