"""The staff API of Console → Finance (under /api/v1/console/finance/): the same reads as
the pages, with the same permission (merchant_console.view_finance), and the one write,
marking a reconciliation difference resolved (payments.change_reconciliationmismatch),
audited in the same transaction. Amounts are integer fen; periods are Asia/Shanghai days,
both ends included (this month by default)."""

from __future__ import annotations

from django.db import transaction
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from control_plane.api_schema import staff_errors
from merchant_console.api.orders import ConsolePagination
from merchant_console.api.permissions import StaffApiMixin
from merchant_console.audit import audit_record
from merchant_console.finance import (
    PAYOUT_KINDS,
    account_label,
    balance_sheet,
    payouts,
    period_from,
)
from merchant_console.finance_views import (
    RESOLVE_MISMATCH,
    VIEW_FINANCE,
    mismatches_filtered,
    reconciliation_days,
)
from storefront.ledger.selectors import (
    account_get,
    account_legs,
    account_opening,
    check_run_latest,
)
from storefront.payments.models import MismatchKind
from storefront.payments.reconciliation import mismatch_resolve
from storefront.payments.selectors import reconciled_bills

PERIOD_PARAMETERS = [
    OpenApiParameter("start", OpenApiTypes.DATE, description="First day (default: the 1st "
                     "of this month, Asia/Shanghai)"),
    OpenApiParameter("end", OpenApiTypes.DATE, description="Last day, included (default: "
                     "today)"),
]


def _period(request):
    form, period = period_from(request.query_params)
    if period is None:
        raise exceptions.ValidationError(
            {"period" if field == "__all__" else field: [str(e) for e in errors]
             for field, errors in form.errors.items()}
        )
    return period


class PeriodOutput(serializers.Serializer):
    start = serializers.DateField(source="first")
    end = serializers.DateField(source="last")


class CheckRunOutput(serializers.Serializer):
    ran_at = serializers.DateTimeField()
    ok = serializers.BooleanField()
    problems = serializers.ListField(child=serializers.CharField())
    figures = serializers.DictField(child=serializers.IntegerField())


class AccountPeriodOutput(serializers.Serializer):
    account_id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.SerializerMethodField()
    party = serializers.CharField()
    opening_fen = serializers.IntegerField()
    debit_fen = serializers.IntegerField()
    credit_fen = serializers.IntegerField(help_text="Negative: credits are signed.")
    closing_fen = serializers.IntegerField()

    def get_name(self, row) -> str:
        return account_label(row.code)


class TotalsOutput(serializers.Serializer):
    opening_fen = serializers.IntegerField()
    debit_fen = serializers.IntegerField()
    credit_fen = serializers.IntegerField()
    closing_fen = serializers.IntegerField()


class BalancesOutput(serializers.Serializer):
    period = PeriodOutput()
    accounts = AccountPeriodOutput(many=True)
    totals = TotalsOutput()
    check = CheckRunOutput(allow_null=True)


class FinanceBalancesApi(StaffApiMixin, APIView):
    required_permissions = {"GET": VIEW_FINANCE}

    @extend_schema(parameters=PERIOD_PARAMETERS,
                   responses={200: BalancesOutput, **staff_errors(400, 403)},
                   operation_id="console_finance_balances",
                   description="Every account over the period and the last ledger check.")
    def get(self, request):
        period = _period(request)
        sheet = balance_sheet(period)
        return Response(BalancesOutput({
            "period": period, "accounts": sheet.rows, "totals": sheet,
            "check": check_run_latest(),
        }).data)


class LegOutput(serializers.Serializer):
    id = serializers.IntegerField()
    entry_id = serializers.IntegerField()
    posted_at = serializers.DateTimeField(source="entry.posted_at")
    source = serializers.CharField(source="entry.source")
    source_key = serializers.CharField(source="entry.source_key")
    order_id = serializers.IntegerField(source="entry.order_id", allow_null=True)
    memo = serializers.CharField(source="entry.memo")
    amount_fen = serializers.IntegerField()
    balance_fen = serializers.SerializerMethodField()

    def get_balance_fen(self, leg) -> int:
        return self.context["opening"] + leg.running_fen


class FinanceAccountLegsApi(StaffApiMixin, GenericAPIView):
    required_permissions = {"GET": VIEW_FINANCE}
    pagination_class = ConsolePagination

    @extend_schema(parameters=PERIOD_PARAMETERS,
                   responses={200: LegOutput(many=True), **staff_errors(400, 403, 404)},
                   operation_id="console_finance_account_legs",
                   description="An account's legs in the period, oldest first, each with the "
                               "account's balance after it.")
    def get(self, request, account_id: int):
        found = account_get(account_id=account_id)
        period = _period(request)
        opening = account_opening(account_id=found.pk, start=period.start)
        page = self.paginate_queryset(
            account_legs(account_id=found.pk, start=period.start, end=period.end))
        response = self.get_paginated_response(
            LegOutput(page, many=True, context={"opening": opening}).data)
        response.data["opening_fen"] = opening
        return response


class ReconciledDayOutput(serializers.Serializer):
    bill_date = serializers.DateField(source="bill.bill_date")
    trades = serializers.IntegerField(source="bill.trades")
    paid_fen = serializers.IntegerField(source="bill.paid_fen")
    refunded_fen = serializers.IntegerField(source="bill.refunded_fen")
    fee_fen = serializers.IntegerField(source="bill.fee_fen")
    reconciled_at = serializers.DateTimeField(source="bill.reconciled_at")
    our_count = serializers.IntegerField()
    our_paid_fen = serializers.IntegerField()
    difference_fen = serializers.IntegerField()
    open = serializers.IntegerField(help_text="Differences not resolved yet")
    resolved = serializers.IntegerField()


class FinanceReconciliationApi(StaffApiMixin, GenericAPIView):
    required_permissions = {"GET": VIEW_FINANCE}
    pagination_class = ConsolePagination

    @extend_schema(responses={200: ReconciledDayOutput(many=True), **staff_errors(403)},
                   operation_id="console_finance_reconciliation",
                   description="Each reconciled day: WeChat's bill beside the mall's "
                               "payments, and its differences open and resolved.")
    def get(self, request):
        page = self.paginate_queryset(reconciled_bills())
        return self.get_paginated_response(
            ReconciledDayOutput(reconciliation_days(page), many=True).data)


class MismatchOutput(serializers.Serializer):
    id = serializers.IntegerField()
    bill_date = serializers.DateField(allow_null=True)
    kind = serializers.ChoiceField(choices=MismatchKind.choices)
    out_trade_no = serializers.CharField()
    details = serializers.DictField()
    resolved = serializers.BooleanField()
    created_at = serializers.DateTimeField()


class MismatchListInput(serializers.Serializer):
    state = serializers.ChoiceField(choices=["open", "resolved", "all"], default="open")
    kind = serializers.ChoiceField(choices=MismatchKind.values, required=False)
    date = serializers.DateField(required=False)


class FinanceMismatchListApi(StaffApiMixin, GenericAPIView):
    required_permissions = {"GET": VIEW_FINANCE}
    pagination_class = ConsolePagination

    @extend_schema(parameters=[MismatchListInput],
                   responses={200: MismatchOutput(many=True), **staff_errors(400, 403)},
                   operation_id="console_finance_mismatches")
    def get(self, request):
        params = MismatchListInput(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        page = self.paginate_queryset(mismatches_filtered(
            {"state": data["state"], "kind": data.get("kind", ""), "date": data.get("date")}))
        return self.get_paginated_response(MismatchOutput(page, many=True).data)


class ResolveInput(serializers.Serializer):
    note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="",
                                 help_text="What was done; kept in the audit log.")


class FinanceMismatchResolveApi(StaffApiMixin, APIView):
    required_permissions = {"POST": RESOLVE_MISMATCH}

    @extend_schema(request=ResolveInput,
                   responses={200: MismatchOutput, **staff_errors(400, 403, 404, 409)},
                   operation_id="console_finance_mismatch_resolve")
    def post(self, request, mismatch_id: int):
        data = ResolveInput(data=request.data)
        data.is_valid(raise_exception=True)
        with transaction.atomic():
            mismatch = mismatch_resolve(mismatch_id=mismatch_id)
            audit_record(actor=request.user, area="finance", action="mismatch.resolve",
                         target=str(mismatch.pk),
                         detail={"kind": mismatch.kind, "out_trade_no": mismatch.out_trade_no,
                                 "bill_date": mismatch.bill_date,
                                 "note": data.validated_data["note"]})
        return Response(MismatchOutput(mismatch).data)


class PayoutOutput(serializers.Serializer):
    id = serializers.IntegerField()
    reference = serializers.SerializerMethodField()
    amount_fen = serializers.IntegerField()
    status = serializers.CharField()
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)

    def get_reference(self, row) -> str:
        return (getattr(row, "out_bill_no", None) or getattr(row, "out_order_no", None)
                or getattr(row, "out_return_no", ""))


class StatusTotalOutput(serializers.Serializer):
    status = serializers.CharField()
    count = serializers.IntegerField()
    amount_fen = serializers.IntegerField()


class PayoutListInput(serializers.Serializer):
    status = serializers.CharField(required=False, allow_blank=True)


class FinancePayoutListApi(StaffApiMixin, GenericAPIView):
    required_permissions = {"GET": VIEW_FINANCE}
    pagination_class = ConsolePagination

    @extend_schema(parameters=[*PERIOD_PARAMETERS, PayoutListInput],
                   responses={200: PayoutOutput(many=True), **staff_errors(400, 403, 404)},
                   operation_id="console_finance_payouts",
                   description="kind: withdrawals, transfers, shares or returns. `totals` "
                               "counts every state over the period.")
    def get(self, request, kind: str):
        if kind not in PAYOUT_KINDS:
            raise exceptions.NotFound("No such kind of payout.")
        payout_kind = PAYOUT_KINDS[kind]
        status = request.query_params.get("status") or ""
        if status and status not in dict(payout_kind.statuses):
            raise exceptions.ValidationError({"status": [f"Not a state of {kind}."]})
        rows, totals = payouts(kind=payout_kind, status=status, period=_period(request))
        page = self.paginate_queryset(rows)
        response = self.get_paginated_response(PayoutOutput(page, many=True).data)
        response.data["totals"] = StatusTotalOutput(
            [{"status": value, "count": n, "amount_fen": fen or 0}
             for value, _, n, fen in totals], many=True).data
        if kind == "withdrawals":
            for item, row in zip(response.data["results"], page, strict=True):
                item["reference"] = row.out_bill_no
                item["fee_fen"], item["net_fen"] = row.fee_fen, row.net_fen
                item["distributor_id"] = row.distributor_id
        return response


