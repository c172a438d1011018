"""Checks on what staff type into the shop's identity and the campaigns, shared by the admin's forms and the API."""

from email.utils import parseaddr
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.deconstruct import deconstructible

from users.validators import SingleLineTextValidator

one_line = SingleLineTextValidator()


@deconstructible
class WebAddressValidator:
    """An http(s) address, and https only with production settings (DEBUG off): a logo or a storefront link in an
    email must not be ``javascript:`` or ``data:``, and a shop in production serves them over TLS."""

    code = "invalid"

    def __call__(self, value: str) -> None:
        if not value:
            return
        scheme = urlsplit(value).scheme.lower()
        allowed = ("http", "https") if settings.DEBUG else ("https",)
        if scheme not in allowed:
            raise ValidationError(
                "Use an https:// address." if not settings.DEBUG else "Use an http:// or https:// address.",
                code=self.code,
            )

    def __eq__(self, other) -> bool:
        return isinstance(other, WebAddressValidator)


@deconstructible
class SenderValidator:
    """A sender as a mail header carries it: ``orders@shop.example`` or ``Shop <orders@shop.example>``, one line."""

    code = "invalid"

    message = 'Use an email address, or a name and an address: "Shop <orders@shop.example>".'

    def __call__(self, value: str) -> None:
        one_line(value)
        _, address = parseaddr(value)
        if value.count("@") != 1 or not address:  # one address, no list
            raise ValidationError(self.message, code=self.code)
        try:
            validate_email(address)
        except ValidationError:
            raise ValidationError(self.message, code=self.code) from None

    def __eq__(self, other) -> bool:
        return isinstance(other, SenderValidator)
