"""The reminder a shopper receives: subject, text and HTML parts, a recovery link, an unsubscribe link and the
List-Unsubscribe headers (RFC 2369, and RFC 8058 one-click)."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import get_template

from core.money import format_money

from .links import recovery_url, unsubscribe_url
from .models import RecoveryEmail

SUBJECTS = {1: "You left something in your cart"}
LATER_SUBJECT = "Your cart is still waiting for you"

TEXT_TEMPLATE = "recovery/emails/reminder.txt"
HTML_TEMPLATE = "recovery/emails/reminder.html"


def reminder_templates():
    """The compiled (text, HTML) templates; a run compiles them once for all its messages."""
    return get_template(TEXT_TEMPLATE), get_template(HTML_TEMPLATE)


def build_recovery_message(email: RecoveryEmail, *, templates=None) -> EmailMultiAlternatives:
    """The reminder for one RecoveryEmail (its cart, lines and user already loaded)."""
    text_template, html_template = templates or reminder_templates()
    cart = email.cart
    user = cart.user
    unsubscribe = unsubscribe_url(user_id=user.pk)
    context = {
        "name": user.name,
        "step": email.step,
        "lines": [
            {
                "name": line.item.name,
                "quantity": line.quantity,
                "unit_price": format_money(line.unit_price),
                "line_total": format_money(line.line_total),
            }
            for line in cart.lines.all()
        ],
        "total": format_money(cart.total),
        "recovery_url": recovery_url(cart_id=cart.pk, email_id=email.pk),
        "unsubscribe_url": unsubscribe,
        "link_days": max(1, settings.CART_RECOVERY_LINK_MAX_AGE_SECONDS // 86_400),
    }
    message = EmailMultiAlternatives(
        subject=SUBJECTS.get(email.step, LATER_SUBJECT),
        body=text_template.render(context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[user.email],
        headers={
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "X-Cart-Recovery": f"cart={cart.pk}; step={email.step}",
        },
    )
    message.attach_alternative(html_template.render(context), "text/html")
    return message
