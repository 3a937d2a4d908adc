"""The shopper's account API: phone-code sign-in, sign-out, profile and address book.

One view per operation; each validates its input with a serializer, calls a shoppers
service or selector, and shapes the output. Errors are the project's `{code, message,
fields}` (control_plane.api_errors).
"""

from __future__ import annotations

from django.middleware.csrf import rotate_token
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import APIView

from control_plane.api_schema import error_responses
from control_plane.throttles import LoginCodeIpThrottle
from storefront.api.auth import IsShopper, ShopperApiMixin
from storefront.shoppers import selectors, services
from storefront.shoppers.errors import LoginCodeRateLimited
from storefront.shoppers.legal import consent_from_form
from storefront.shoppers.models import Address, Shopper
from storefront.shoppers.senders import mask_phone
from storefront.web.shopper_session import shopper_login, shopper_logout

# Serializers -----------------------------------------------------------------------------


class ConsentInput(serializers.Serializer):
    """PIPL: the shopper ticked "I have read and agree to the User Agreement and the Privacy
    Policy" (pages /legal/terms/ and /legal/privacy/). Without it nothing is kept."""

    agree = serializers.BooleanField(
        required=False, default=False,
        help_text="The shopper agreed to the user agreement and the privacy policy.",
    )
    terms_version = serializers.IntegerField(
        required=False, min_value=0,
        help_text="The user agreement version shown (default: current).",
    )
    privacy_version = serializers.IntegerField(
        required=False, min_value=0,
        help_text="The privacy policy version shown (default: current).",
    )


class LoginCodeRequestInput(ConsentInput):
    phone = serializers.CharField(max_length=40, help_text="Mainland mobile number, 11 digits.")


class LoginCodeSentOutput(serializers.Serializer):
    phone_masked = serializers.CharField()
    expires_in = serializers.IntegerField(help_text="Seconds the code stays valid.")
    resend_after = serializers.IntegerField(help_text="Seconds before another code may be sent.")


class ShopperLoginInput(ConsentInput):
    phone = serializers.CharField(max_length=40)
    code = serializers.CharField(max_length=12, help_text="The 6-digit code sent by text.")


class ShopperProfileOutput(serializers.Serializer):
    id = serializers.IntegerField()
    display_name = serializers.CharField()
    nickname = serializers.CharField()
    avatar_url = serializers.CharField()
    phone_masked = serializers.SerializerMethodField()
    wechat_linked = serializers.SerializerMethodField()
    share_code = serializers.CharField()
    created_at = serializers.DateTimeField()

    def get_phone_masked(self, shopper: Shopper) -> str:
        return mask_phone(shopper.phone) if shopper.phone else ""

    def get_wechat_linked(self, shopper: Shopper) -> bool:
        return bool(shopper.wechat_openid)


class ShopperAddressInput(serializers.Serializer):
    """Types only; the shoppers service checks lengths and formats and names each problem."""

    recipient = serializers.CharField(max_length=200, allow_blank=True)
    phone = serializers.CharField(max_length=200, allow_blank=True)
    province = serializers.CharField(max_length=200, allow_blank=True)
    city = serializers.CharField(max_length=200, allow_blank=True)
    district = serializers.CharField(max_length=200, allow_blank=True, required=False)
    detail = serializers.CharField(max_length=500, allow_blank=True)
    is_default = serializers.BooleanField(required=False)


class ShopperAddressOutput(serializers.ModelSerializer):
    class Meta:
        model = Address
        fields = ["id", "recipient", "phone", "province", "city", "district", "detail",
                  "is_default", "created_at"]
        read_only_fields = fields


# Sign-in and sign-out -----------------------------------------------------------------------


class LoginCodeRequestApi(ShopperApiMixin, APIView):
    """Send a one-time sign-in code to a phone by text message."""

    parser_classes = [JSONParser]  # a cross-site form cannot post JSON without CORS
    throttle_classes = [LoginCodeIpThrottle]

    @extend_schema(
        request=LoginCodeRequestInput,
        responses={
            202: LoginCodeSentOutput,
            **error_responses({400: "invalid phone number; consent_required",
                               409: "consent_outdated: the texts changed, show them again",
                               403: "CSRF token missing (session cookie)",
                               429: "too many codes for this phone or network",
                               503: "no text-message sender configured"}),
        },
        operation_id="shopper_login_code_request",
        tags=["shopper account"],
    )
    def post(self, request):
        data = LoginCodeRequestInput(data=request.data)
        data.is_valid(raise_exception=True)
        sent = services.login_code_request(
            phone=data.validated_data["phone"], consent=consent_from_form(data.validated_data)
        )
        return Response(
            {"phone_masked": sent.phone_masked, "expires_in": sent.expires_in,
             "resend_after": sent.resend_after},
            status=status.HTTP_202_ACCEPTED,
        )

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        if isinstance(exc, LoginCodeRateLimited) and response is not None:
            response["Retry-After"] = str(exc.retry_after)
        return response


class LoginApi(ShopperApiMixin, APIView):
    """Verify the code and open a session (the `sessionid` cookie; a new `csrftoken`)."""

    parser_classes = [JSONParser]

    @extend_schema(
        request=ShopperLoginInput,
        responses={
            200: ShopperProfileOutput,
            **error_responses({400: "wrong, expired or burnt code; invalid phone; "
                                    "consent_required",
                               409: "consent_outdated: the texts changed, show them again",
                               403: "account disabled, or CSRF token missing"}),
        },
        operation_id="shopper_login",
        tags=["shopper account"],
    )
    def post(self, request):
        data = ShopperLoginInput(data=request.data)
        data.is_valid(raise_exception=True)
        shopper = services.login_code_verify(
            phone=data.validated_data["phone"], code=data.validated_data["code"],
            current=request._request.shopper, consent=consent_from_form(data.validated_data),
        )
        shopper_login(request._request, shopper)
        rotate_token(request._request)
        return Response(ShopperProfileOutput(shopper).data)


class LogoutApi(ShopperApiMixin, APIView):
    """End the shopper's session (answers 204 even when nobody was signed in)."""

    @extend_schema(
        request=None, responses={204: None, **error_responses({403: "CSRF token missing"})},
        operation_id="shopper_logout", tags=["shopper account"],
    )
    def post(self, request):
        shopper_logout(request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)


# Profile ----------------------------------------------------------------------------------


class MeApi(ShopperApiMixin, APIView):
    """The signed-in shopper."""

    permission_classes = [IsShopper]

    @extend_schema(
        responses={200: ShopperProfileOutput, **error_responses({401: "not signed in"})},
        operation_id="shopper_me", tags=["shopper account"],
    )
    def get(self, request):
        return Response(ShopperProfileOutput(request._request.shopper).data)


# Addresses --------------------------------------------------------------------------------


class AddressListApi(ShopperApiMixin, APIView):
    permission_classes = [IsShopper]

    @extend_schema(
        responses={200: ShopperAddressOutput(many=True), **error_responses({401: "not signed in"})},
        operation_id="shopper_address_list", tags=["shopper addresses"],
    )
    def get(self, request):
        addresses = selectors.address_list(shopper=request._request.shopper)
        return Response(ShopperAddressOutput(addresses, many=True).data)

    @extend_schema(
        request=ShopperAddressInput,
        responses={
            201: ShopperAddressOutput,
            **error_responses({400: "invalid fields", 401: "not signed in",
                               403: "CSRF token missing", 409: "address book full"}),
        },
        operation_id="shopper_address_create", tags=["shopper addresses"],
    )
    def post(self, request):
        data = ShopperAddressInput(data=request.data)
        data.is_valid(raise_exception=True)
        address = services.address_create(
            shopper=request._request.shopper, **data.validated_data
        )
        return Response(ShopperAddressOutput(address).data, status=status.HTTP_201_CREATED)


class AddressDetailApi(ShopperApiMixin, APIView):
    permission_classes = [IsShopper]

    @extend_schema(
        responses={
            200: ShopperAddressOutput,
            **error_responses({401: "not signed in", 404: "no such address"}),
        },
        operation_id="shopper_address_get", tags=["shopper addresses"],
    )
    def get(self, request, address_id: int):
        address = selectors.address_get_for_shopper(
            shopper=request._request.shopper, address_id=address_id
        )
        return Response(ShopperAddressOutput(address).data)

    @extend_schema(
        request=ShopperAddressInput,
        responses={
            200: ShopperAddressOutput,
            **error_responses({400: "invalid fields", 401: "not signed in",
                               403: "CSRF token missing", 404: "no such address"}),
        },
        operation_id="shopper_address_update", tags=["shopper addresses"],
    )
    def patch(self, request, address_id: int):
        data = ShopperAddressInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        address = services.address_update(
            shopper=request._request.shopper, address_id=address_id, data=data.validated_data
        )
        return Response(ShopperAddressOutput(address).data)

    @extend_schema(
        responses={204: None, **error_responses({401: "not signed in",
                                                 403: "CSRF token missing",
                                                 404: "no such address"})},
        operation_id="shopper_address_delete", tags=["shopper addresses"],
    )
    def delete(self, request, address_id: int):
        services.address_delete(shopper=request._request.shopper, address_id=address_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class AddressDefaultApi(ShopperApiMixin, APIView):
    permission_classes = [IsShopper]

    @extend_schema(
        request=None,
        responses={
            200: ShopperAddressOutput,
            **error_responses({401: "not signed in", 403: "CSRF token missing",
                               404: "no such address"}),
        },
        operation_id="shopper_address_set_default", tags=["shopper addresses"],
    )
    def post(self, request, address_id: int):
        address = services.address_set_default(
            shopper=request._request.shopper, address_id=address_id
        )
        return Response(ShopperAddressOutput(address).data)
