from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from cartrecovery.api import IsStaff
from cartrecovery.throttling import RegisterRateThrottle, TokenRateThrottle
from users import services
from users.models import User

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


class UserViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Users: staff list and read them; anyone may register as a shopper."""

    queryset = User.objects.order_by("id")
    permission_classes = [IsStaff]
    filterset_fields = {"is_staff": ["exact"], "email": ["iexact"]}

    def get_serializer_class(self):
        return UserDetailSerializer if self.action == "retrieve" else UserSerializer

    def get_permissions(self):
        if self.action == "register":
            return [permissions.AllowAny()]
        return super().get_permissions()

    def get_throttles(self):
        # Here rather than on @action: the seed route /user/register maps to this action without the router.
        if self.action == "register":
            return [RegisterRateThrottle()]
        return super().get_throttles()

    @extend_schema(request=RegisterInput, responses={201: RegisterOutput, 429: THROTTLED})
    @action(detail=False, methods=["post"], url_path="register")
    def register(self, request):
        data = RegisterInput(data=request.data)
        data.is_valid(raise_exception=True)
        user, token = services.user_register(name=data.validated_data["name"], email=data.validated_data["email"])
        return Response({"message": "User registered.", "id": user.id, "token": token}, status=status.HTTP_201_CREATED)


class ObtainTokenView(APIView):
    """Exchange a staff email and password for a new API token. It is shown once: only its digest is stored."""

    permission_classes = [permissions.AllowAny]
    authentication_classes = []
    throttle_classes = [TokenRateThrottle]

    @extend_schema(request=TokenInput, responses={200: TokenOutput, 429: THROTTLED})
    def post(self, request):
        data = TokenInput(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        return Response({"token": services.user_token_issue(user=data.validated_data["user"])})
