import django_filters
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from core.filters import FilterSet
from core.permissions import IsStaff
from core.throttling import ClientAddressRateThrottle
from users import services
from users.models import User, email_matches

from .serializers import (
    RegisterInput,
    RegisterOutput,
    TokenInput,
    TokenOutput,
    UserDetailSerializer,
    UserSerializer,
)

THROTTLED = OpenApiResponse(
    response=inline_serializer(name="Throttled", fields={"detail": serializers.CharField()}),
    description="Too many attempts from this address; the Retry-After header says when to try again.",
)


class UserFilter(FilterSet):
    # The parameter keeps its name; the comparison is the one logins and the unique constraint use.
    email__iexact = django_filters.CharFilter(method="filter_email", help_text="Users with this email, in any case.")

    class Meta:
        model = User
        fields = {"is_staff": ["exact"]}

    def filter_email(self, queryset, name, value):
        return queryset.filter(email_matches(value))


class UserViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Users: staff list and read them; anyone may register as a shopper."""

    queryset = User.objects.order_by("id")
    permission_classes = [IsStaff]
    filterset_class = UserFilter

    def get_serializer_class(self):
        return UserDetailSerializer if self.action == "retrieve" else UserSerializer

    def get_permissions(self):
        # No action: the route has no handler for this method, and anyone gets the 405 (not a 401 that suggests
        # logging in would help).
        if self.action in ("register", None):
            return [permissions.AllowAny()]
        return super().get_permissions()

    def get_throttles(self):
        # Here rather than on @action: the seed route /user/register maps to this action without the router.
        if self.action == "register":
            self.throttle_scope = "register"  # DJANGO_THROTTLE_REGISTER
            return [ClientAddressRateThrottle()]
        return super().get_throttles()

    @extend_schema(request=RegisterInput, responses={201: RegisterOutput, 429: THROTTLED})
    @action(detail=False, methods=["post"], url_path="register")
    def register(self, request):
        data = RegisterInput(data=request.data)
        data.is_valid(raise_exception=True)
        user, token = services.user_register(
            name=data.validated_data["name"], email=data.validated_data["email"], by_staff=request.user.is_staff
        )
        return Response({"message": "User registered.", "id": user.id, "token": token}, status=status.HTTP_201_CREATED)


class ObtainTokenView(APIView):
    """Exchange a staff email and password for a new API token. It is shown once: only its digest is stored."""

    permission_classes = [permissions.AllowAny]
    authentication_classes = []
    throttle_classes = [ClientAddressRateThrottle]
    throttle_scope = "token"  # DJANGO_THROTTLE_TOKEN, against password guessing

    @extend_schema(request=TokenInput, responses={200: TokenOutput, 429: THROTTLED})
    def post(self, request):
        data = TokenInput(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        return Response({"token": services.user_token_issue(user=data.validated_data["user"])})
