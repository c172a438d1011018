"""The one way the product writes an amount of money for people: the currency code, then the amount with two
decimals and thousands separators ("USD 1,234.50"). The API keeps its machine format (decimal strings, "1234.50")."""

from decimal import Decimal

from django.conf import settings


def format_money(amount: Decimal) -> str:
    return f"{settings.CART_CURRENCY} {amount:,.2f}"
