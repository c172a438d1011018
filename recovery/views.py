"""The two links of a recovery email: /cart/recover/<token> and /cart/unsubscribe/<token>. Plain HTML pages for
shoppers (anonymous: the signed token is the credential); every bad token gets a clear page, never a 500."""

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from carts.models import Cart
from core.errors import render_error_page
from core.money import format_money

from .links import recovery_link_open, recovery_unsubscribe, redirect_url_for, user_for_unsubscribe_token
from .tokens import RecoveryLinkError


@never_cache
@require_http_methods(["GET"])  # not HEAD: a link checker probing the URL should not recover the cart
def recover(request: HttpRequest, token: str) -> HttpResponse:
    """Reactivate the cart the token names and send the shopper to the shop (or show the cart)."""
    try:
        cart = recovery_link_open(token=token, now=timezone.now())
    except RecoveryLinkError as error:
        return render_error_page(request, error)
    target = redirect_url_for(cart_id=cart.pk)
    if target:
        return HttpResponseRedirect(target)
    cart = Cart.objects.select_related("user").get(pk=cart.pk)
    lines = [
        {
            "name": line.item.name,
            "quantity": line.quantity,
            "unit_price": format_money(line.unit_price),
            "line_total": format_money(line.line_total),
        }
        for line in cart.lines.select_related("item").order_by("id")
    ]
    return render(
        request,
        "recovery/recover.html",
        {"title": "Your cart is waiting", "cart": cart, "lines": lines, "total": format_money(cart.total)},
    )


# RFC 8058 one-click unsubscribe: mail clients POST "List-Unsubscribe=One-Click" to this URL without a CSRF token.
# The signed token in the URL is the credential, so CSRF (which protects cookie sessions) does not apply. A GET only
# shows a confirmation form, so link scanners that prefetch URLs never unsubscribe anybody.
@csrf_exempt
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
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
