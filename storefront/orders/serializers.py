"""Output shapes of after-sales cases, shared by the shopper API and the staff API (the
staff one adds fields); one definition keeps the two answers from drifting apart."""

from rest_framework import serializers

from storefront.orders.models import AfterSalesStatus
from storefront.orders.presenters import AFTER_SALES_STATUS_LABELS, REASON_LABELS


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
