"""The two links of a recovery email: /cart/recover/<token> and /cart/unsubscribe/<token>. Pages for shoppers in the
shop's name (anonymous: the signed token in the address is the credential); every bad token gets a clear page, never
a 500.

A GET changes nothing. Mail scanners and link previewers fetch every link of an email; had a GET restored the cart,
each of them would count as a shopper coming back "via the email link". The recovery page shows the cart and restores
it with a POST, which the page sends itself (recovery/static/recovery/restore.js) or, with scripts off, its button.
"""

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from carts.models import Cart
from core.errors import render_error_page
from core.money import format_money

from .coupons import usable_coupon
from .links import (
    cart_of_recovery_token,
    recovery_link_open,
    recovery_unsubscribe,
    redirect_url_for,
    user_for_unsubscribe_token,
)
from .messages import greeting_name, lines_of
from .policies import shows_the_shop_logo
from .shop import current_shop
from .tokens import RecoveryLinkError


def _cart_page(request: HttpRequest, cart: Cart, *, restored: bool) -> HttpResponse:
    cart = Cart.objects.select_related("user").prefetch_related("lines__item").get(pk=cart.pk)
    coupon = usable_coupon(cart=cart, now=timezone.now())
    return render(
        request,
        "recovery/recover.html",
        {
            "title": "Your cart is restored" if restored else "Your cart is waiting",
            "cart": cart,
            "greeting": greeting_name(cart.user),
            "lines": lines_of(cart),
            "total": format_money(cart.total),
            "restored": restored,
            "storefront_url": current_shop().storefront_url,
            "coupon": coupon,
            "coupon_minimum": format_money(coupon.min_total) if coupon and coupon.min_total else "",
        },
    )


# The token is the credential: a CSRF token would only make the restore fail in a browser that blocks cookies.
@csrf_exempt
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
@shows_the_shop_logo
def recover(request: HttpRequest, token: str) -> HttpResponse:
    """GET: show the cart the link names. POST: restore it and lead the shopper to the shop."""
    try:
        if request.method != "POST":
            return _cart_page(request, cart_of_recovery_token(token=token), restored=False)
        cart = recovery_link_open(token=token, now=timezone.now())
    except RecoveryLinkError as error:
        return render_error_page(request, error)
    target = redirect_url_for(cart_id=cart.pk)
    if target:
        return HttpResponseRedirect(target)
    return _cart_page(request, cart, restored=True)


# RFC 8058 one-click unsubscribe: mail clients POST "List-Unsubscribe=One-Click" to this URL without a CSRF token.
# The signed token in the URL is the credential, so CSRF (which protects cookie sessions) does not apply. A GET only
# shows a confirmation form, so link scanners that prefetch URLs never unsubscribe anybody.
@csrf_exempt
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
@shows_the_shop_logo
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET: confirm page. POST: opt the shopper out of recovery emails."""
    try:
        if request.method == "POST":
            user = recovery_unsubscribe(token=token, now=timezone.now())
        else:
            user = user_for_unsubscribe_token(token=token)
    except RecoveryLinkError as error:
        return render_error_page(request, error)
    done = request.method == "POST"
    title = "You are unsubscribed" if done else "Unsubscribe from cart reminders"
    return render(request, "recovery/unsubscribe.html", {"title": title, "user": user, "done": done})
