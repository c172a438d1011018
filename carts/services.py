"""Use cases that change carts. Views, admin and commands call these; nothing else writes a cart.

Every service that changes a cart locks it first (``select_for_update``) and refreshes ``last_updated`` in the same
transaction. The sweep's UPDATE re-checks ``status`` and ``last_updated`` in its WHERE clause, so on PostgreSQL it
waits for that lock and then skips the cart the shopper just touched; on SQLite every write transaction is
serialised (``transaction_mode=IMMEDIATE``), which gives the same outcome.
"""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import F

from catalog.models import Item
from core.db import one_or_none
from core.errors import Conflict, InvalidInput, NotFound
from core.money import format_money
from users.models import User
from webhooks import outbox
from webhooks.models import Event

from .figures import CartState, FigureChanges, record_cart_change
from .models import MAX_CART_TOTAL, Cart, CartItem, Coupon
from .selectors import open_carts_of
from .signals import cart_checked_out


def _lock_open_cart(*, user: User) -> Cart | None:
    cart = one_or_none(open_carts_of(user=user).select_for_update())
    if cart is not None:
        cart.owner_email = user.email  # for its events (_emit), as _lock_cart reads it
    return cart


def _lock_cart(*, cart_id: int, user: User | None) -> Cart:
    """The cart, locked; ``user=None`` means staff (any cart). Someone else's cart is reported as not found.

    The owner's email comes in the same query, for the cart's events; only the cart row is locked."""
    carts = Cart.objects.select_for_update(of=("self",)).annotate(owner_email=F("user__email"))
    if user is not None:
        carts = carts.filter(user=user)
    cart = one_or_none(carts.filter(pk=cart_id))
    if cart is None:
        raise NotFound("Cart not found.")
    return cart


# What a change of lines writes on the cart row. The totals change by the difference the service just made: exact,
# because the cart row is locked for the whole transaction (check_integrity verifies them against the lines).
LINE_CHANGE_FIELDS = ["status", "recovered_at", "recovery_source", "item_count", "total", "last_updated"]


def _add_to_totals(cart: Cart, *, line: CartItem, units: int) -> None:
    cart.item_count += units
    cart.total += line.unit_price * units


def _emit(cart: Cart, *, event_type: str, now: datetime) -> None:
    """The change's event, written in the service's transaction (the outbox: webhooks/outbox.py), as the cart is
    now. Recorded only when an active webhook endpoint subscribes to the type."""
    email = getattr(cart, "owner_email", None)
    outbox.record_event(
        type=event_type,
        occurred_at=now,
        cart_id=cart.pk,
        user_id=cart.user_id,
        email=cart.user.email if email is None else email,
        status=cart.status,
        item_count=cart.item_count,
        total=cart.total,
    )


def _reactivate(cart: Cart, *, now: datetime, source: str) -> bool:
    """Bring an abandoned cart back to active. Its AbandonmentLog stays; ``recovered_at`` is set the first time.

    Its ``cart.recovered`` event shows the cart as it came back, before the add or remove that brought it."""
    if cart.status != Cart.Status.ABANDONED:
        return False
    cart.status = Cart.Status.ACTIVE
    if cart.recovered_at is None:
        cart.recovered_at = now
        cart.recovery_source = source
    _emit(cart, event_type=Event.Type.CART_RECOVERED, now=now)
    return True


def _ensure_changeable(cart: Cart) -> None:
    if cart.status == Cart.Status.CHECKED_OUT:
        raise Conflict("This cart is checked out and can no longer change.")


def cart_add_item(*, user: User, item: Item, quantity: int, now: datetime) -> tuple[Cart, CartItem]:
    """Add ``quantity`` of ``item`` to the user's open cart, creating the cart on the first add.

    Adding an item already in the cart adds to its quantity. An abandoned cart comes back to active (recovery).
    """
    if not item.is_active:
        raise InvalidInput("This item is not available.", field="item_id")
    with transaction.atomic():
        cart = _lock_open_cart(user=user)
        if cart is None:
            # The first add: locking the user row serialises "find or create the open cart" per shopper, so
            # concurrent first adds share one cart instead of racing on the one-open-cart constraint. Under the lock,
            # look again: the add that held it before may have just created the cart.
            User.objects.select_for_update().filter(pk=user.pk).values_list("pk", flat=True).first()
            cart = _lock_open_cart(user=user)
        before = None
        if cart is None:
            cart = Cart.objects.create(user=user, status=Cart.Status.ACTIVE, created_at=now, last_updated=now)
        else:
            before = CartState.of(cart)
            _reactivate(cart, now=now, source=Cart.RecoverySource.RETURNED)
        line = one_or_none(CartItem.objects.filter(cart_id=cart.pk, item_id=item.pk))
        new_quantity = (line.quantity if line else 0) + quantity
        if new_quantity > settings.CART_MAX_QUANTITY:
            limit = settings.CART_MAX_QUANTITY
            raise InvalidInput(f"A line may hold at most {limit}; this would make {new_quantity}.", field="quantity")
        new_total = cart.total + (line.unit_price if line else item.price) * quantity
        if new_total > MAX_CART_TOTAL:
            raise InvalidInput(
                f"A cart's total may be at most {MAX_CART_TOTAL}; this would make it {new_total}.", field="quantity"
            )
        if line is None:
            line = CartItem.objects.create(cart=cart, item=item, quantity=new_quantity, unit_price=item.price)
        else:
            line.quantity = new_quantity
            line.save(update_fields=["quantity"])
        _add_to_totals(cart, line=line, units=quantity)
        cart.last_updated = now
        cart.save(update_fields=LINE_CHANGE_FIELDS)
        record_cart_change(before, cart)
    return cart, line


def cart_remove_item(
    *, cart_id: int, item_id: int, quantity: int | None, user: User | None, now: datetime
) -> tuple[Cart, int]:
    """Remove ``quantity`` units of an item (all of them when ``quantity`` is None). Returns the cart and what is
    left of the line (0 when the line is gone). ``user=None`` acts as staff on any cart."""
    with transaction.atomic():
        cart = _lock_cart(cart_id=cart_id, user=user)
        _ensure_changeable(cart)
        line = one_or_none(CartItem.objects.filter(cart_id=cart.pk, item_id=item_id))
        if line is None:
            raise NotFound("This item is not in the cart.")
        before = CartState.of(cart)
        _reactivate(cart, now=now, source=Cart.RecoverySource.RETURNED)
        removed = line.quantity if quantity is None else min(quantity, line.quantity)
        remaining = line.quantity - removed
        if remaining == 0:
            line.delete()
        else:
            line.quantity = remaining
            line.save(update_fields=["quantity"])
        _add_to_totals(cart, line=line, units=-removed)
        cart.last_updated = now
        cart.save(update_fields=LINE_CHANGE_FIELDS)
        record_cart_change(before, cart)
    return cart, remaining


CENT = Decimal("0.01")


def coupon_discount(*, coupon: Coupon, total: Decimal) -> Decimal:
    """What ``coupon`` takes off ``total``: a percent rounded to the cent, or an amount, never more than the total."""
    if coupon.kind == Coupon.Kind.PERCENT:
        discount = (total * coupon.value / 100).quantize(CENT, rounding=ROUND_HALF_UP)
    else:
        discount = coupon.value
    return min(discount, total)


def _redeem_coupon(*, code: str, cart: Cart, now: datetime) -> Decimal:
    """Redeem the coupon ``code`` on ``cart`` (locked) and return its discount; InvalidInput naming ``coupon`` when
    it cannot be used. Redeemed once, even when two checkouts race: the UPDATE is conditional on the coupon being
    unused, and the database applies one of two such UPDATEs at a time (a row lock on PostgreSQL, one writer at a time
    on SQLite)."""
    coupon = one_or_none(Coupon.objects.select_related("cart").filter(code=normalise_coupon_code(code)))
    if coupon is None:
        raise InvalidInput("This coupon code does not exist.", field="coupon")
    if coupon.cart.user_id != cart.user_id:
        raise InvalidInput("This coupon belongs to another shopper.", field="coupon")
    if coupon.redeemed_at is not None:
        raise InvalidInput("This coupon was already used.", field="coupon")
    if now >= coupon.expires_at:
        raise InvalidInput(f"This coupon expired on {coupon.expires_at:%Y-%m-%d %H:%M} UTC.", field="coupon")
    if coupon.min_total is not None and cart.total < coupon.min_total:
        raise InvalidInput(f"This coupon needs a cart of at least {format_money(coupon.min_total)}.", field="coupon")
    used = Coupon.objects.filter(pk=coupon.pk, redeemed_at__isnull=True).update(redeemed_at=now, redeemed_cart=cart)
    if not used:
        raise InvalidInput("This coupon was already used.", field="coupon")
    return coupon_discount(coupon=coupon, total=cart.total)


def normalise_coupon_code(code: str) -> str:
    """Codes are typed by people: case and spaces or dashes between groups do not matter."""
    return "".join(code.split()).replace("-", "").upper()


def cart_checkout(*, cart_id: int, user: User | None, now: datetime, coupon: str | None = None) -> Cart:
    """Check the cart out, with a coupon code when one is given. Empty → 400, already checked out → 409, a coupon
    that cannot be used → 400 naming ``coupon`` (and the cart stays as it was). An abandoned cart checked out counts
    as recovered (the shopper came back). The cart keeps its ``discount`` and what was ``paid``."""
    with transaction.atomic():
        cart = _lock_cart(cart_id=cart_id, user=user)
        if cart.status == Cart.Status.CHECKED_OUT:
            raise Conflict("This cart is already checked out.")
        if cart.item_count == 0:
            raise InvalidInput("An empty cart cannot be checked out.", field="cart_id")
        before = CartState.of(cart)
        cart.discount = _redeem_coupon(code=coupon, cart=cart, now=now) if coupon else Decimal("0.00")
        cart.paid = cart.total - cart.discount
        _reactivate(cart, now=now, source=Cart.RecoverySource.RETURNED)
        cart.status = Cart.Status.CHECKED_OUT
        cart.checked_out_at = now
        cart.last_updated = now
        cart.save()
        record_cart_change(before, cart)
        cart_checked_out.send(sender=Cart, cart=cart, before=before)
        _emit(cart, event_type=Event.Type.CART_CHECKED_OUT, now=now)
    return cart


def cart_open_for_owner_view(*, user: User, now: datetime) -> Cart:
    """The user's open cart as the owner sees it. Viewing an abandoned cart is a return: it becomes active.

    Most views find an active cart and stay a plain read (no transaction, no lock: on SQLite a write transaction
    would queue behind every other writer); only an abandoned cart takes the lock, and the state is re-checked
    under it."""
    cart = one_or_none(open_carts_of(user=user))
    if cart is not None and cart.status == Cart.Status.ABANDONED:
        with transaction.atomic():
            cart = _lock_open_cart(user=user)
            before = CartState.of(cart) if cart is not None else None
            if cart is not None and _reactivate(cart, now=now, source=Cart.RecoverySource.RETURNED):
                cart.last_updated = now
                cart.save()
                record_cart_change(before, cart)
    if cart is None:
        raise NotFound("This user has no open cart.")
    return cart


def cart_recover(*, cart_id: int, now: datetime, source: str = Cart.RecoverySource.EMAIL_LINK) -> Cart:
    """Reactivate an abandoned cart (from a recovery link). Active carts are left as they are; checked-out carts
    raise Conflict."""
    with transaction.atomic():
        cart = _lock_cart(cart_id=cart_id, user=None)
        _ensure_changeable(cart)
        before = CartState.of(cart)
        if _reactivate(cart, now=now, source=source):
            cart.last_updated = now
            cart.save()
            record_cart_change(before, cart)
    return cart


def _shoppers_groups(*, user_ids: set[int]) -> dict[int, str]:
    """The group each of these shoppers was drawn into, from their earliest drawn cart (one query)."""
    found: dict[int, str] = {}
    rows = (
        Cart.objects.filter(user_id__in=user_ids)
        .exclude(recovery_group="")
        .order_by("user_id", "abandoned_at", "pk")
        .values_list("user_id", "recovery_group")
    )
    for user_id, group in rows:
        found.setdefault(user_id, group)
    return found


def carts_assign_recovery_groups(
    *, holdout_share: Decimal, campaign_started_at: datetime, rng, limit: int = 5000
) -> int:
    """Draw treated or holdout, once, for the carts abandoned since the campaign with a holdout share became active
    and not drawn yet (the recovery app calls this before planning reminders). The unit is the shopper: a shopper's
    first drawn cart is a draw with probability ``holdout_share`` (0..0.5) of holdout, and every later cart of theirs
    takes the same group, so a holdout shopper never learns from another cart that reminders come (a guest's cart,
    with no account to follow, is a draw of its own). The group is stored on each cart and never drawn again.
    Returns how many carts were given a group."""
    with transaction.atomic():
        carts = list(
            Cart.objects.select_for_update(skip_locked=True)
            .filter(abandoned_at__gte=campaign_started_at, recovery_group="")
            .order_by("pk")[:limit]
        )
        known = _shoppers_groups(user_ids={cart.user_id for cart in carts if cart.user_id is not None})
        changes = FigureChanges()
        drawn = {Cart.RecoveryGroup.HOLDOUT: [], Cart.RecoveryGroup.TREATED: []}
        for cart in carts:
            before = CartState.of(cart)
            group = known.get(cart.user_id) if cart.user_id is not None else None
            if group is None:
                group = (
                    Cart.RecoveryGroup.HOLDOUT if rng.random() < float(holdout_share) else Cart.RecoveryGroup.TREATED
                )
                if cart.user_id is not None:
                    known[cart.user_id] = group
            cart.recovery_group = group
            drawn[group].append(cart.pk)
            changes.change(before, CartState.of(cart))
        for group, ids in drawn.items():
            if ids:
                Cart.objects.filter(pk__in=ids, recovery_group="").update(recovery_group=group)
        changes.apply()
    return len(carts)
