import unicodedata

from django.core.exceptions import ValidationError
from django.utils.deconstruct import deconstructible

from .emails import ascii_domain, is_address_literal

# Control characters (newlines, tabs, escapes), invisible format characters (bidi overrides, zero-width joiners)
# and line/paragraph separators.
_REFUSED_CATEGORIES = {"Cc", "Cf", "Zl", "Zp"}


@deconstructible
class SingleLineTextValidator:
    """One line of visible text. A shopper's name is printed in the reminder emails sent to the address they typed:
    with newlines allowed, anyone could register someone else's address and have the shop mail them a message of
    their own layout ("Your order was flagged..."), and bidi or zero-width characters disguise text in the admin."""

    message = "Use a single line of visible text: no line breaks, control or invisible formatting characters."
    code = "invalid"

    def __call__(self, value: str) -> None:
        if any(unicodedata.category(character) in _REFUSED_CATEGORIES for character in value):
            raise ValidationError(self.message, code=self.code)

    def __eq__(self, other) -> bool:
        return isinstance(other, SingleLineTextValidator)


@deconstructible
class AsciiLocalPartValidator:
    """The part of an email address before the @ in ASCII. Django's EmailValidator means that too, but it matches
    case-insensitively, so a few non-ASCII letters pass as the ASCII letter they fold to: the long s (U+017F) as
    "s", the Kelvin sign (U+212A) as "k", the dotless i (U+0131) as "i". Each made a second account that reads like
    the first. Unicode domains stay allowed."""

    message = "Use an address whose part before the @ is plain ASCII."
    code = "invalid"

    def __call__(self, value: str) -> None:
        if not value.rpartition("@")[0].isascii():
            raise ValidationError(self.message, code=self.code)

    def __eq__(self, other) -> bool:
        return isinstance(other, AsciiLocalPartValidator)


@deconstructible
class DomainNameValidator:
    """A domain name after the @, one that IDNA 2008 can write in ASCII (users/emails.py): not an IP address in
    brackets (``a@[127.0.0.1]``), which Django's EmailValidator accepts but which names a machine, not a mail domain
    (a way round any rule on domains, and a probe of internal hosts)."""

    literal_message = "Use an address with a domain name after the @, not an IP address."
    message = "Use an address whose domain is a valid domain name."
    code = "invalid"

    def __call__(self, value: str) -> None:
        if is_address_literal(value):
            raise ValidationError(self.literal_message, code=self.code)
        try:
            ascii_domain(value.rpartition("@")[2])
        except ValueError:
            raise ValidationError(self.message, code=self.code) from None

    def __eq__(self, other) -> bool:
        return isinstance(other, DomainNameValidator)
