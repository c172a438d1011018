"""The reminder a shopper receives, rendered from its campaign step (recovery/campaigns.py) in the shop's name
(recovery/shop.py): subject, preheader, text and HTML parts, a recovery link, an unsubscribe link, the shop's postal
address, and the List-Unsubscribe headers (RFC 2369, and RFC 8058 one-click).

Nothing a stranger typed goes out in the shop's name: the shopper is greeted by a first name only when staff vouched
for the name (``User.name_vouched``), and then by its first word reduced to letters (see :func:`greeting_name`).
Item names are the shop's own. The recovery link, the unsubscribe link and the address are added when a step's body
leaves them out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.utils import parseaddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.utils.html import format_html

from core.money import format_money
from users.models import User

from .campaigns import CompiledStep
from .links import recovery_url, unsubscribe_url
from .models import RecoveryEmail, Shop
from .shop import shop_context
from .templating import ensure_required_parts

# A first name: letters, with single hyphens or apostrophes between them ("Anne-Marie", "O'Neil"), 30 at most.
_FIRST_NAME = re.compile(r"[^\W\d_]+(?:[-'’][^\W\d_]+)*")
MAX_GREETING_NAME = 30


def greeting_name(user: User) -> str:
    """What a reminder greets the shopper by: the first word of a vouched-for name when it is a plain first name,
    otherwise nothing ("Hello,"). No URL, digit, punctuation or second sentence can reach an email this way."""
    if not user.name_vouched:
        return ""
    words = user.name.split()
    first = words[0].rstrip(".,;:!") if words else ""
    if len(first) > MAX_GREETING_NAME or not _FIRST_NAME.fullmatch(first):
        return ""
    return first


def lines_of(cart) -> list[dict]:
    """The cart's lines as plain data (the lines already loaded, item included)."""
    return [
        {
            "name": line.item.name,
            "quantity": line.quantity,
            "unit_price": format_money(line.unit_price),
            "line_total": format_money(line.line_total),
        }
        for line in cart.lines.all()
    ]


def reminder_context(*, email: RecoveryEmail, shop: Shop) -> dict:
    cart = email.cart
    return {
        "shopper_name": greeting_name(cart.user),
        "lines": lines_of(cart),
        "total": format_money(cart.total),
        "item_count": cart.item_count,
        "recovery_url": recovery_url(cart_id=cart.pk, email_id=email.pk),
        "unsubscribe_url": unsubscribe_url(user_id=cart.user_id),
        "link_days": max(1, settings.CART_RECOVERY_LINK_MAX_AGE_SECONDS // 86_400),
        "shop": shop_context(shop),
        "coupon": None,
    }


@dataclass(frozen=True)
class Rendered:
    """A reminder as it goes out, kept on its RecoveryEmail row."""

    subject: str
    preheader: str
    text: str
    html: str


def _with_coupon(rendered: str, *, kind: str, coupon: dict | None) -> str:
    """A step with an offer whose body leaves the code out still gives it: the email exists for it."""
    if not coupon or coupon["code"] in rendered:
        return rendered
    line = f"Use the code {coupon['code']} at checkout for {coupon['offer']} (until {coupon['expires_on']})."
    if kind == "text":
        return rendered.rstrip("\n") + "\n\n" + line + "\n"
    paragraph = format_html("<p>{}</p>", line)
    end = rendered.lower().rfind("</body>")
    return rendered + paragraph if end < 0 else rendered[:end] + paragraph + rendered[end:]


def render_reminder(*, compiled: CompiledStep, context: dict) -> Rendered:
    """The step's texts rendered with ``context``; the required parts (and the coupon) appended where a body leaves
    them out."""
    coupon = context.get("coupon")
    preheader = compiled.preheader.render(context)
    html = ensure_required_parts(
        _with_coupon(compiled.html.render(context), kind="html", coupon=coupon), kind="html", context=context
    )
    if preheader:
        html = _with_preheader(html, preheader)
    text = ensure_required_parts(
        _with_coupon(compiled.text.render(context), kind="text", coupon=coupon), kind="text", context=context
    )
    return Rendered(subject=compiled.subject.render(context), preheader=preheader, text=text, html=html)


def _with_preheader(html: str, preheader: str) -> str:
    """The preheader as the hidden first text of the body, where mail apps take the inbox preview from."""
    hidden = format_html('<div style="display:none;max-height:0;overflow:hidden;mso-hide:all;">{}</div>', preheader)
    match = re.search(r"<body[^>]*>", html, flags=re.IGNORECASE)
    if match is None:
        return hidden + html
    return html[: match.end()] + hidden + html[match.end() :]


def build_message(*, email: RecoveryEmail, rendered: Rendered, shop: Shop, recipient: str) -> EmailMultiAlternatives:
    """The MIME message of a rendered reminder, from the shop."""
    unsubscribe = unsubscribe_url(user_id=email.cart.user_id)
    message = EmailMultiAlternatives(
        subject=rendered.subject,
        body=rendered.text,
        from_email=shop.from_email or settings.DEFAULT_FROM_EMAIL,
        to=[recipient],
        reply_to=[shop.reply_to] if shop.reply_to else None,
        headers={
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "X-Cart-Recovery": f"cart={email.cart_id}; step={email.step}",
        },
    )
    message.attach_alternative(rendered.html, "text/html")
    return message


def domain_of(address: str) -> str:
    return parseaddr(address)[1].rpartition("@")[2].lower()
