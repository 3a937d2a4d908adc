"""Public-host API: merchant signup."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from control_plane.api_schema import error_responses
from control_plane.throttles import SignupThrottle
from tenants import services


class MerchantSignupInput(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    slug = serializers.CharField(max_length=30)
    owner_email = serializers.EmailField()
    password = serializers.CharField(write_only=True, trim_whitespace=False)


class MerchantOutput(serializers.Serializer):
    name = serializers.CharField()
    slug = serializers.CharField()
    status = serializers.CharField()
    plan = serializers.CharField(source="plan.code")
    url = serializers.CharField(source="home_url")
    console_url = serializers.SerializerMethodField()
    trial_ends_at = serializers.DateTimeField()

    def get_console_url(self, merchant) -> str:
        return merchant.home_url + "console/"


class MerchantSignupApi(APIView):
    """Sign a merchant up: creates the mall, its host, its schema and its owner account."""

    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes = [SignupThrottle]

    @extend_schema(
        request=MerchantSignupInput,
        responses={
            201: MerchantOutput,
            **error_responses({400: "invalid fields", 409: "slug taken",
                               429: "too many signups from this address"}),
        },
        operation_id="merchant_signup",
    )
    def post(self, request):
        data = MerchantSignupInput(data=request.data)
        data.is_valid(raise_exception=True)
        result = services.merchant_signup(**data.validated_data)
        return Response(MerchantOutput(result.merchant).data, status=status.HTTP_201_CREATED)
