"""What the carts app tells the apps built on it, inside the transaction of the change (so their own rows change with
it or not at all). The carts app imports none of them; they connect in their AppConfig.ready()."""

from django.dispatch import Signal

# A cart was checked out: ``cart`` (saved, in its checked-out state) and ``before`` (its carts.figures.CartState
# before the checkout). The recovery app credits the reminder step that brought the shopper back.
cart_checked_out = Signal()

# Carts are about to be deleted by retention: ``carts`` (a queryset of them). The recovery app keeps their
# reminders' figures as history before the rows go.
carts_pruning = Signal()
