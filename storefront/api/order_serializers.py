"""Output serializers shared by the shopper API and the staff API (order lines, after-sales
cases; the staff API adds fields): one definition keeps the two answers from drifting.
merchant_console.api.orders extends them."""

from rest_framework import serializers

from storefront.orders.models import AfterSalesStatus
from storefront.web.presenters import AFTER_SALES_STATUS_LABELS, REASON_LABELS


class OrderLineOutput(serializers.Serializer):
    id = serializers.IntegerField()
    sku_id = serializers.IntegerField()
    product_id = serializers.IntegerField()
    title = serializers.CharField()
    spec_label = serializers.CharField()
    image_url = serializers.CharField()
    unit_price_fen = serializers.IntegerField()
    quantity = serializers.IntegerField()
    discount_fen = serializers.IntegerField()
    paid_fen = serializers.IntegerField()
    refunded_quantity = serializers.IntegerField()
    refunded_fen = serializers.IntegerField()


class AfterSalesLineOutput(serializers.Serializer):
    order_line_id = serializers.IntegerField()
    title = serializers.CharField(source="order_line.title")
    quantity = serializers.IntegerField()
    refund_fen = serializers.IntegerField()


class AfterSalesCaseOutput(serializers.Serializer):
    id = serializers.IntegerField()
    order_number = serializers.CharField(source="order.number")
    status = serializers.ChoiceField(choices=AfterSalesStatus.choices)
    status_label = serializers.SerializerMethodField()
    reason = serializers.CharField()
    reason_label = serializers.SerializerMethodField()
    description = serializers.CharField()
    refund_fen = serializers.IntegerField()
    staff_note = serializers.CharField()
    created_at = serializers.DateTimeField()
    decided_at = serializers.DateTimeField(allow_null=True)
    refunded_at = serializers.DateTimeField(allow_null=True)
    lines = AfterSalesLineOutput(many=True)
    photos = serializers.SerializerMethodField()

    def get_status_label(self, case) -> str:
        return str(AFTER_SALES_STATUS_LABELS.get(case.status, case.status))

    def get_reason_label(self, case) -> str:
        return str(REASON_LABELS.get(case.reason, case.reason))

    def get_photos(self, case) -> list[str]:
        return [photo.image.url for photo in case.photos.all()]
