import unicodedata

from django.core.exceptions import ValidationError
from django.utils.deconstruct import deconstructible

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
