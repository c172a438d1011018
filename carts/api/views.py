from django.db.models import Prefetch, QuerySet
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.fields import DateTimeField
from rest_framework.response import Response

from carts import services
from carts.models import AbandonmentLog, Cart, CartItem
from carts.selectors import open_carts_of
from catalog.models import Item
from core.db import one_or_none
from core.errors import NotFound, PermissionDenied
from core.filters import FilterSet, IdFilter
from core.permissions import IsStaff
from users.models import User

from .serializers import (
    AbandonmentLogSerializer,
    CartAddInput,
    CartAddOutput,
    CartCheckoutInput,
    CartCheckoutOutput,
    CartRemoveInput,
    CartRemoveOutput,
    CartSerializer,
    CartViewOutput,
    CartViewQuery,
)

LINES_WITH_ITEMS = Prefetch("lines", queryset=CartItem.objects.select_related("item").order_by("id"))


_TIMESTAMP = DateTimeField()

# The cart and its lines in one statement (a LEFT JOIN: an empty cart is one row without a line). One statement
# reads one snapshot, on PostgreSQL (READ COMMITTED takes one per statement) and on SQLite alike, so the total, the
# lines and the timestamp are the cart at one moment. Read in two statements, a concurrent add or remove committed
# between them gave a total that was not the sum of the lines shown.
_VIEW_COLUMNS = (
    "id",
    "status",
    "total",
    "last_updated",
    "lines__item_id",
    "lines__item__name",
    "lines__unit_price",
    "lines__quantity",
)


def cart_view_payload(carts: QuerySet[Cart]) -> dict | None:
    """What ``CartViewOutput(cart).data`` gives for the one cart of ``carts`` (None when there is none), built
    without the serializers and the prefetch machinery, from one statement (above).

    The seed's /cart/view is the hottest read: instantiating the nested ModelSerializers and prefetching the lines
    cost more CPU than its database queries (``bench/request_cpu.py``). The same fields, in the same formats: ids
    and quantities as numbers, money as strings with two decimals, ``last_updated`` as DRF renders a date-time
    (``test_view_answers_exactly_what_the_cart_serializer_gives`` in tests/carts/test_api_cart.py holds the two
    equal)."""
    rows = list(carts.order_by("lines__id").values_list(*_VIEW_COLUMNS))
    if not rows:
        return None
    cart_id, status, total, last_updated = rows[0][:4]
    return {
        "cart_id": cart_id,
        "status": status,
        "items": [
            {
                "item_id": item_id,
                "item_name": item_name,
                "price": f"{unit_price:.2f}",
                "quantity": quantity,
                "line_total": f"{unit_price * quantity:.2f}",
            }
            for *_, item_id, item_name, unit_price, quantity in rows
            if item_id is not None
        ],
        "total": f"{total:.2f}",
        "last_updated": _TIMESTAMP.to_representation(last_updated),
    }


def resolve_acting_user(request, user_id: int | None) -> User:
    """Whose cart a request acts on: the caller's own, or, for staff only, anyone's."""
    if user_id is None or user_id == request.user.pk:
        return request.user
    if not request.user.is_staff:
        raise PermissionDenied("You may only act on your own cart.")
    user = one_or_none(User.objects.filter(pk=user_id))
    if user is None:
        raise NotFound("User not found.")
    return user


class CartFilter(FilterSet):
    # A number, not django-filter's default choice among all users: that answered 400 for an id that does not exist
    # and 200 for one that does, so a shopper could probe which user ids exist. Now any id just filters.
    user = IdFilter(field_name="user_id", help_text="Carts of this user (staff: anyone's; a shopper: only their own).")

    class Meta:
        model = Cart
        fields = {"status": ["exact"], "last_updated": ["gte", "lte"]}


def cart_scope(request) -> User | None:
    """The owner a cart_id must belong to: the caller, or None (any cart) for staff."""
    return None if request.user.is_staff else request.user


class CartViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Carts: shoppers see and change their own, staff any. The seed routes /cart/* are actions of this viewset."""

    serializer_class = CartSerializer
    filterset_class = CartFilter

    def get_queryset(self):
        carts = Cart.objects.prefetch_related(LINES_WITH_ITEMS).order_by("-id")
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return carts.none()
        if not self.request.user.is_staff:
            carts = carts.filter(user=self.request.user)
        return carts

    @extend_schema(request=CartAddInput, responses={200: CartAddOutput})
    @action(detail=False, methods=["post"], url_path="add")
    def add(self, request):
        data = CartAddInput(data=request.data)
        data.is_valid(raise_exception=True)
        user = resolve_acting_user(request, data.validated_data.get("user_id"))
        item = one_or_none(Item.objects.filter(pk=data.validated_data["item_id"]))
        if item is None:
            raise NotFound("Item not found.")
        cart, line = services.cart_add_item(
            user=user, item=item, quantity=data.validated_data["quantity"], now=timezone.now()
        )
        return Response(
            {
                "message": "Item added to cart.",
                "cart_id": cart.id,
                "status": cart.status,
                "item_id": item.id,
                "quantity": line.quantity,
                "item_count": cart.item_count,
                "total": f"{cart.total:.2f}",
            }
        )

    @extend_schema(request=CartRemoveInput, responses={200: CartRemoveOutput})
    @action(detail=False, methods=["post"], url_path="remove")
    def remove(self, request):
        data = CartRemoveInput(data=request.data)
        data.is_valid(raise_exception=True)
        cart, remaining = services.cart_remove_item(
            cart_id=data.validated_data["cart_id"],
            item_id=data.validated_data["item_id"],
            quantity=data.validated_data.get("quantity"),
            user=cart_scope(request),
            now=timezone.now(),
        )
        return Response(
            {
                "message": "Item removed from cart." if remaining == 0 else "Quantity reduced.",
                "cart_id": cart.id,
                "item_id": data.validated_data["item_id"],
                "quantity": remaining,
                "item_count": cart.item_count,
                "total": f"{cart.total:.2f}",
            }
        )

    @extend_schema(parameters=[CartViewQuery], responses={200: CartViewOutput})
    @action(detail=False, methods=["get"], url_path="view")
    def view(self, request):
        query = CartViewQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        user = resolve_acting_user(request, query.validated_data.get("user_id"))
        payload = cart_view_payload(open_carts_of(user=user))
        if payload is not None and payload["status"] == Cart.Status.ABANDONED and user == request.user:
            # The owner viewing an abandoned cart is a return: it becomes active (staff looking is only a read). Rare,
            # so the common view stays one plain read, without a transaction or a lock.
            services.cart_open_for_owner_view(user=user, now=timezone.now())
            payload = cart_view_payload(open_carts_of(user=user))
        if payload is None:
            raise NotFound("This user has no open cart.")
        return Response(payload)

    @extend_schema(request=CartCheckoutInput, responses={200: CartCheckoutOutput})
    @action(detail=False, methods=["post"], url_path="checkout")
    def checkout(self, request):
        data = CartCheckoutInput(data=request.data)
        data.is_valid(raise_exception=True)
        cart = services.cart_checkout(
            cart_id=data.validated_data["cart_id"],
            user=cart_scope(request),
            now=timezone.now(),
            coupon=data.validated_data.get("coupon") or None,
        )
        return Response(
            {
                "message": "Checked out.",
                "cart_id": cart.id,
                "total": f"{cart.total:.2f}",
                "discount": f"{cart.discount:.2f}",
                "paid": f"{cart.paid:.2f}",
            }
        )


class AbandonmentLogViewSet(viewsets.ReadOnlyModelViewSet):
    """The abandonment log: one row per cart ever abandoned. Staff only."""

    queryset = AbandonmentLog.objects.order_by("-abandoned_at", "-id")
    serializer_class = AbandonmentLogSerializer
    permission_classes = [IsStaff]
    filterset_fields = {"abandoned_at": ["gte", "lte"], "cart": ["exact"]}
