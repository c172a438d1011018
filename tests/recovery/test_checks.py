"""A start-up check refuses a CART_RECOVERY_REDIRECT_URL that would break every recovery link after restoring the
cart."""

import pytest
from django.core.checks import run_checks


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "ftp://shop.example/cart", "shop.example/cart", "//evil.example/cart", "data:,x"]
)
def test_a_redirect_that_is_not_a_web_address_stops_the_start(settings, url):
    settings.CART_RECOVERY_REDIRECT_URL = url

    errors = [message for message in run_checks() if message.id == "recovery.E001"]

    assert len(errors) == 1
    assert url in errors[0].msg


@pytest.mark.parametrize(
    "url", ["", "https://shop.example/cart?cart_id={cart_id}", "http://127.0.0.1:8000/shop/cart", "/shop/cart"]
)
def test_web_addresses_and_paths_on_this_site_pass(settings, url):
    settings.CART_RECOVERY_REDIRECT_URL = url

    assert [message for message in run_checks() if message.id == "recovery.E001"] == []
