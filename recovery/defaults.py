"""The first campaign's reminders: what the product sent before campaigns existed (the subjects and wording of the
old email templates, one step per delay of CART_RECOVERY_EMAIL_STEPS), now with the shop's identity. The data
migration that creates the first campaign and the admin's "new campaign" both start from these."""

from __future__ import annotations

FIRST_SUBJECT = "You left something in your cart"
LATER_SUBJECT = "Your cart is still waiting for you"
FIRST_INTRO = "You left something in your cart. It is still here for you:"
LATER_INTRO = "Your cart is still waiting for you:"

HTML_BODY = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>{{ shop.name }}</title></head>
<body style="font-family: Arial, Helvetica, sans-serif; color: #222; max-width: 600px; margin: 0 auto;">
  <p style="margin: 16px 0;">{% if shop.logo_url %}<img src="{{ shop.logo_url }}" alt="" style="max-height: 48px; vertical-align: middle;"> {% endif %}<strong>{{ shop.name }}</strong></p>
  <p>Hello{% if shopper_name %} {{ shopper_name }}{% endif %},</p>
  <p>%(intro)s</p>
  {{ cart_table }}
  <p style="text-align: right;"><strong>Total: {{ total }}</strong></p>
  {% if coupon %}<p style="border: 1px dashed #417690; padding: 10px;">Use the code <strong>{{ coupon.code }}</strong> at checkout for {{ coupon.offer }} (until {{ coupon.expires_on }}).</p>{% endif %}
  <p style="margin: 24px 0;">{{ recovery_button }}</p>
  <p style="font-size: 12px; color: #666;">This link works for {{ link_days }} day{{ link_days|pluralize }}. If the button does not work, copy this address into your browser: {{ recovery_url }}</p>
  <hr style="border: 0; border-top: 1px solid #eee;">
  <p style="font-size: 12px; color: #666;">{{ shop.name }}{% if shop.address %}<br>{{ shop.address|linebreaksbr }}{% endif %}{% if shop.support_email %}<br>Questions? Write to {{ shop.support_email }}.{% endif %}</p>
  <p style="font-size: 12px; color: #666;">You get this email because you left items in your cart. <a href="{{ unsubscribe_url }}">No more reminders</a>.</p>
</body>
</html>
"""

TEXT_BODY = """Hello{% if shopper_name %} {{ shopper_name }}{% endif %},

%(intro)s

{{ cart_table }}

Total: {{ total }}
{% if coupon %}
Use the code {{ coupon.code }} at checkout for {{ coupon.offer }} (until {{ coupon.expires_on }}).
{% endif %}
Pick up where you left off (this link works for {{ link_days }} day{{ link_days|pluralize }}):
{{ recovery_url }}

--
{{ shop.name }}{% if shop.address %}
{{ shop.address }}{% endif %}{% if shop.support_email %}
Questions? Write to {{ shop.support_email }}.{% endif %}
You get this email because you left items in your cart.
No more reminders: {{ unsubscribe_url }}
"""


def default_step(*, position: int, delay_seconds: int) -> dict:
    """The texts of the reminder at ``position`` (1: the first one; later ones say the cart is still waiting)."""
    intro = FIRST_INTRO if position == 1 else LATER_INTRO
    return {
        "position": position,
        "delay_seconds": delay_seconds,
        "subject": FIRST_SUBJECT if position == 1 else LATER_SUBJECT,
        "preheader": "Your cart at {{ shop.name }} is saved for you.",
        "body_html": HTML_BODY.replace("%(intro)s", intro),
        "body_text": TEXT_BODY.replace("%(intro)s", intro),
        "is_active": True,
    }


def default_steps(delays: list[int]) -> list[dict]:
    return [default_step(position=position, delay_seconds=delay) for position, delay in enumerate(delays, 1)]
