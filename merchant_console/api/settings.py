"""The staff API of Console → Settings (under /api/v1/console/settings/): the mall's profile,
the order periods, the shipping templates and the plan, with the pages' permission
(merchant_console.manage_settings) and the same services and audit rows. The WeChat Pay
binding has its own endpoint (/api/v1/console/wechat-pay/, owner only)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from billing.selectors import billing_overview
from control_plane.api_schema import staff_errors
from merchant_console.api.permissions import StaffApiMixin
from merchant_console.billing_views import checkout_open, plan_change_open, portal_open
from merchant_console.settings_views import (
    MANAGE_SETTINGS,
    order_settings_save,
    profile_save,
    shipping_template_save,
)
from storefront.orders.models import OrderSettings
from storefront.orders.shop_settings import (
    RegionFee,
    shipping_template_get,
    shipping_template_list,
)
from tenants.models import Merchant, MerchantStatus


class ProfileOutput(serializers.Serializer):
    name = serializers.CharField()
    theme_colour = serializers.CharField()
    contact_phone = serializers.CharField()
    logo_url = serializers.SerializerMethodField()
    home_url = serializers.CharField()

    def get_logo_url(self, mall) -> str | None:
        return mall.logo.url if mall.logo else None


class ProfileInput(serializers.Serializer):
    name = serializers.CharField(max_length=100, required=False)
    theme_colour = serializers.CharField(max_length=7, required=False,
                                         help_text="#rrggbb")
    contact_phone = serializers.CharField(max_length=20, required=False, allow_blank=True)
    logo = serializers.FileField(required=False, help_text="JPEG, PNG or WebP")
    remove_logo = serializers.BooleanField(required=False, default=False)


def _fresh_mall(request) -> Merchant:
    return Merchant.objects.select_related("plan").get(pk=request.tenant.pk)


class SettingsProfileApi(StaffApiMixin, APIView):
    required_permissions = {"GET": MANAGE_SETTINGS, "PATCH": MANAGE_SETTINGS}
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    @extend_schema(responses={200: ProfileOutput, **staff_errors(403)},
                   operation_id="console_settings_profile_get")
    def get(self, request):
        return Response(ProfileOutput(_fresh_mall(request)).data)

    @extend_schema(request=ProfileInput,
                   responses={200: ProfileOutput, **staff_errors(400, 403, 409)},
                   operation_id="console_settings_profile_update",
                   description="Change the fields given; a logo as multipart. A closed "
                               "mall answers 409.")
    def patch(self, request):
        data = ProfileInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        profile_save(request=request, data=values, upload=values.pop("logo", None))
        return Response(ProfileOutput(_fresh_mall(request)).data)


class OrderSettingsSerializer(serializers.Serializer):
    auto_cancel_minutes = serializers.IntegerField()
    auto_receive_days = serializers.IntegerField()
    after_sales_days = serializers.IntegerField()


class SettingsOrdersApi(StaffApiMixin, APIView):
    required_permissions = {"GET": MANAGE_SETTINGS, "PUT": MANAGE_SETTINGS}

    @extend_schema(responses={200: OrderSettingsSerializer, **staff_errors(403)},
                   operation_id="console_settings_orders_get")
    def get(self, request):
        return Response(OrderSettingsSerializer(OrderSettings.current()).data)

    @extend_schema(request=OrderSettingsSerializer,
                   responses={200: OrderSettingsSerializer, **staff_errors(400, 403)},
                   operation_id="console_settings_orders_update",
                   description="Minutes to cancel an unpaid order (5–1440), days to mark a "
                               "shipped one received (1–60), after-sales window (7–90 days).")
    def put(self, request):
        data = OrderSettingsSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        order_settings_save(request=request, data=dict(data.validated_data))
        return Response(OrderSettingsSerializer(OrderSettings.current()).data)


class RegionSerializer(serializers.Serializer):
    provinces = serializers.ListField(child=serializers.CharField(max_length=20),
                                      allow_empty=False)
    fee_fen = serializers.IntegerField()


class ShippingTemplateSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(max_length=40)
    default_fee_fen = serializers.IntegerField()
    free_above_fen = serializers.IntegerField(default=0, help_text="0: never free")
    is_default = serializers.BooleanField(default=False)
    regions = RegionSerializer(source="region_fees.all", many=True, required=False)

    def arguments(self) -> dict:
        data = dict(self.validated_data)
        regions = data.pop("region_fees", {}).get("all", [])
        return {**data, "regions": [RegionFee(**region) for region in regions]}


class SettingsShippingListApi(StaffApiMixin, APIView):
    required_permissions = {"GET": MANAGE_SETTINGS, "POST": MANAGE_SETTINGS}

    @extend_schema(responses={200: ShippingTemplateSerializer(many=True), **staff_errors(403)},
                   operation_id="console_settings_shipping_list")
    def get(self, request):
        return Response(ShippingTemplateSerializer(shipping_template_list(), many=True).data)

    @extend_schema(request=ShippingTemplateSerializer,
                   responses={201: ShippingTemplateSerializer, **staff_errors(400, 403)},
                   operation_id="console_settings_shipping_create")
    def post(self, request):
        data = ShippingTemplateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        template = shipping_template_save(request=request, template_id=None,
                                          arguments=data.arguments())
        return Response(ShippingTemplateSerializer(
            shipping_template_get(template_id=template.pk)).data, status=201)


class SettingsShippingDetailApi(StaffApiMixin, APIView):
    required_permissions = {"GET": MANAGE_SETTINGS, "PUT": MANAGE_SETTINGS}

    @extend_schema(responses={200: ShippingTemplateSerializer, **staff_errors(403, 404)},
                   operation_id="console_settings_shipping_get")
    def get(self, request, template_id: int):
        return Response(ShippingTemplateSerializer(
            shipping_template_get(template_id=template_id)).data)

    @extend_schema(request=ShippingTemplateSerializer,
                   responses={200: ShippingTemplateSerializer, **staff_errors(400, 403, 404)},
                   operation_id="console_settings_shipping_update")
    def put(self, request, template_id: int):
        data = ShippingTemplateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        shipping_template_save(request=request, template_id=template_id,
                               arguments=data.arguments())
        return Response(ShippingTemplateSerializer(
            shipping_template_get(template_id=template_id)).data)


class NextInvoiceOutput(serializers.Serializer):
    on = serializers.DateTimeField()
    amount_fen = serializers.IntegerField()


class InvoiceOutput(serializers.Serializer):
    number = serializers.CharField()
    status = serializers.CharField()
    amount_due_fen = serializers.IntegerField()
    amount_paid_fen = serializers.IntegerField()
    period_start = serializers.DateTimeField(allow_null=True)
    period_end = serializers.DateTimeField(allow_null=True)
    hosted_invoice_url = serializers.CharField()
    created = serializers.DateTimeField(source="stripe_created")


class BillingOutput(serializers.Serializer):
    plan_code = serializers.CharField(source="mall.plan.code")
    plan_name = serializers.CharField(source="mall.plan.name")
    monthly_price_fen = serializers.IntegerField(source="mall.plan.monthly_price_fen")
    status = serializers.ChoiceField(choices=MerchantStatus.choices, source="mall.status")
    trial_ends_at = serializers.DateTimeField(allow_null=True, source="mall.trial_ends_at")
    trial_days_left = serializers.IntegerField(allow_null=True,
                                               source="overview.trial_days_left")
    subscribed = serializers.BooleanField(source="overview.subscribed")
    subscription_status = serializers.CharField(
        source="overview.account.subscription_status", default="")
    interval = serializers.CharField(source="overview.account.interval", default="")
    cancel_at_period_end = serializers.BooleanField(
        source="overview.account.cancel_at_period_end", default=False)
    next_invoice = NextInvoiceOutput(source="overview.next_invoice", allow_null=True)
    pending_plan_change = serializers.CharField(
        source="overview.pending_change.plan.code", default=None, allow_null=True)
    invoices = InvoiceOutput(source="overview.invoices", many=True)


class BillingChoiceInput(serializers.Serializer):
    plan = serializers.CharField(help_text="starter, growth or pro")
    interval = serializers.ChoiceField(choices=["month", "year"])


class BillingUrlOutput(serializers.Serializer):
    url = serializers.URLField(help_text="Stripe's hosted page: send the owner there.")


class PlanChangeOutput(serializers.Serializer):
    id = serializers.IntegerField()
    plan = serializers.CharField(source="plan.code")
    interval = serializers.CharField()
    status = serializers.CharField()


class SettingsBillingApi(StaffApiMixin, APIView):
    required_permissions = {"GET": MANAGE_SETTINGS}

    @extend_schema(responses={200: BillingOutput, **staff_errors(403)},
                   operation_id="console_settings_billing")
    def get(self, request):
        mall = _fresh_mall(request)
        return Response(BillingOutput(
            {"mall": mall, "overview": billing_overview(mall)}).data)


class SettingsBillingCheckoutApi(StaffApiMixin, APIView):
    owner_only = True

    @extend_schema(request=BillingChoiceInput,
                   responses={200: BillingUrlOutput, **staff_errors(400, 403, 409, 503)},
                   operation_id="console_settings_billing_checkout",
                   description="Subscribe: answers the URL of Stripe Checkout for the plan.")
    def post(self, request):
        data = BillingChoiceInput(data=request.data)
        data.is_valid(raise_exception=True)
        return Response({"url": checkout_open(request, **data.validated_data)})


class SettingsBillingPlanChangeApi(StaffApiMixin, APIView):
    owner_only = True

    @extend_schema(request=BillingChoiceInput,
                   responses={202: PlanChangeOutput, **staff_errors(400, 403, 409)},
                   operation_id="console_settings_billing_plan_change",
                   description="Switch the subscription's plan or interval (prorated). "
                               "Queued for Stripe; the plan changes when Stripe confirms.")
    def post(self, request):
        data = BillingChoiceInput(data=request.data)
        data.is_valid(raise_exception=True)
        change = plan_change_open(request, **data.validated_data)
        return Response(PlanChangeOutput(change).data, status=202)


class SettingsBillingPortalApi(StaffApiMixin, APIView):
    owner_only = True

    @extend_schema(request=None,
                   responses={200: BillingUrlOutput, **staff_errors(403, 409, 503)},
                   operation_id="console_settings_billing_portal",
                   description="Answers the URL of Stripe's billing portal for the mall.")
    def post(self, request):
        return Response({"url": portal_open(request)})
