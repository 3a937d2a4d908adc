"""The distributor centre's shopper API under /api/v1/distribution/.

One view per operation with typed input and output serializers (drf-spectacular documents
them); each calls storefront.distribution's services and centre. Money is integer fen
in and out. Anonymous callers get 401, shoppers who are not distributors 404
`distribution_not_found` on what only a distributor has; errors are `{code, message,
fields}`.
"""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from control_plane.api_schema import shopper_errors
from storefront.api.auth import IsShopper, ShopperApiMixin
from storefront.distribution import centre, posters, services, withdrawals
from storefront.distribution.centre import PREVIEW_MAX_PRICE_FEN, PREVIEW_MAX_QUANTITY
from storefront.distribution.models import CommissionStatus, DistributorStatus, JoinMode
from storefront.web.distribution_links import invite_remembered
from storefront.web.distribution_presenters import (
    DISTRIBUTOR_STATUS_LABELS,
    FIGURE_LABELS,
    WITHDRAWAL_STATUS_LABELS,
    commission_row,
)

MAX_ID = 2**63 - 1
MAX_AMOUNT_FEN = 2**31 - 1


def _shopper(request):
    return request._request.shopper


class CentrePagination(PageNumberPagination):
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 50


# ------------------------------------------------------------------ me and joining


class BalancesOutput(serializers.Serializer):
    pending_fen = serializers.IntegerField(help_text="Commissions of paid orders.")
    frozen_fen = serializers.IntegerField(help_text="Received orders, in the after-sales window.")
    available_fen = serializers.IntegerField(help_text="Waiting for the monthly statement.")
    settled_fen = serializers.IntegerField(help_text="Moved into the withdrawable balance.")
    withdrawable_fen = serializers.IntegerField(
        help_text="What may be withdrawn now (negative after a refund following a payout).")


class ConditionOutput(serializers.Serializer):
    key = serializers.CharField(help_text="e.g. monthly_gmv_fen, direct_recruits.")
    label = serializers.CharField()
    required = serializers.IntegerField()
    current = serializers.IntegerField()
    met = serializers.BooleanField()


class LevelOutput(serializers.Serializer):
    name = serializers.CharField()
    rank = serializers.IntegerField()


class LevelProgressOutput(serializers.Serializer):
    level = LevelOutput(allow_null=True)
    next_level = LevelOutput(allow_null=True)
    match_all = serializers.BooleanField(help_text="Every condition (true) or any one.")
    ready = serializers.BooleanField(help_text="The next level's conditions are met.")
    conditions = ConditionOutput(many=True)


class TeamTotalsOutput(serializers.Serializer):
    members = serializers.IntegerField()
    direct = serializers.IntegerField()
    sales_fen = serializers.IntegerField()


class LinksOutput(serializers.Serializer):
    invite_url = serializers.CharField(help_text="The mall's home with ?ref=&invite=.")
    poster_url = serializers.CharField(help_text="The shop's poster (PNG).")


class JoinRulesOutput(serializers.Serializer):
    enabled = serializers.BooleanField()
    join_mode = serializers.ChoiceField(choices=JoinMode.choices)
    suggested_invite_code = serializers.CharField(
        help_text="The invite code joining without one would use (the link's, else the "
        "bound distributor's); empty when none.")


class MeOutput(serializers.Serializer):
    status = serializers.ChoiceField(choices=["none", *DistributorStatus.values])
    status_label = serializers.CharField()
    join = JoinRulesOutput(help_text="How this mall takes distributors.")
    invite_code = serializers.CharField(allow_null=True)
    share_code = serializers.CharField()
    links = LinksOutput(allow_null=True, help_text="Only for an active distributor.")
    balances = BalancesOutput(allow_null=True)
    level_progress = LevelProgressOutput(allow_null=True)
    team = TeamTotalsOutput(allow_null=True)


def _level(level) -> dict | None:
    return {"name": level.name, "rank": level.rank} if level else None


def _progress(distributor) -> dict:
    progress = centre.level_progress(distributor=distributor)
    return {
        "level": _level(progress.level), "next_level": _level(progress.next_level),
        "match_all": progress.match_all, "ready": progress.ready,
        "conditions": [{"key": c.key, "label": str(FIGURE_LABELS.get(c.key, c.key)),
                        "required": c.required, "current": c.current, "met": c.met}
                       for c in progress.conditions],
    }


def _me(request) -> dict:
    shopper = _shopper(request)
    rules = centre.join_rules()
    distributor = centre.distributor_for_shopper(shopper_id=shopper.pk)
    body = {
        "status": "none", "status_label": "", "invite_code": None,
        "share_code": shopper.share_code, "links": None, "balances": None,
        "level_progress": None, "team": None,
        "join": {"enabled": rules.enabled, "join_mode": rules.join_mode,
                 "suggested_invite_code": ""},
    }
    if distributor is None or distributor.status == DistributorStatus.CLEARED:
        body["join"]["suggested_invite_code"] = centre.suggested_invite_code(
            shopper_id=shopper.pk, remembered=invite_remembered(request._request))
        if distributor is not None:
            body["status"] = distributor.status
            body["status_label"] = str(DISTRIBUTOR_STATUS_LABELS[distributor.status])
        return body
    totals = centre.team_overview(distributor=distributor)
    body.update(
        status=distributor.status,
        status_label=str(DISTRIBUTOR_STATUS_LABELS[distributor.status]),
        invite_code=distributor.invite_code,
        balances=vars(centre.balances(distributor_id=distributor.pk)),
        level_progress=_progress(distributor),
        team={"members": totals.members, "direct": totals.direct, "sales_fen": totals.sales_fen},
    )
    if distributor.status == DistributorStatus.ACTIVE:
        build = request.build_absolute_uri
        body["links"] = {
            "invite_url": build(centre.share_path(distributor=distributor)),
            "poster_url": build("/api/v1/distribution/poster/"),
        }
    return body


class DistributionMeApi(ShopperApiMixin, APIView):
    permission_classes = [IsShopper]

    @extend_schema(responses={200: MeOutput, **shopper_errors(401)},
                   operation_id="distribution_me",
                   description="The shopper's place in the programme: status (`none` when "
                   "not a distributor), invite code, links, balances, level progress, team.")
    def get(self, request):
        return Response(MeOutput(_me(request)).data)


class JoinInput(serializers.Serializer):
    invite_code = serializers.CharField(
        max_length=8, required=False, allow_blank=True, default="",
        help_text="A distributor's invite code; when empty, the link's or the bound "
        "distributor's is used (when there is one).")
    note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="",
                                 help_text="For the mall, in apply mode.")


class DistributionJoinApi(ShopperApiMixin, APIView):
    permission_classes = [IsShopper]

    @extend_schema(request=JoinInput, responses={
        201: MeOutput, 200: OpenApiResponse(MeOutput, description="Already a distributor."),
        **shopper_errors(400, 401, 403, 409)},
        operation_id="distribution_join",
        description="Join the programme, free (never a purchase). Open mall: active at once; "
        "apply mode: pending until approved; invitation only: needs a valid code; 409 "
        "`join_not_allowed` when staff assign distributors or the programme is off.")
    def post(self, request):
        data = JoinInput(data=request.data)
        data.is_valid(raise_exception=True)
        shopper = _shopper(request)
        already = centre.distributor_for_shopper(shopper_id=shopper.pk)
        code = data.validated_data["invite_code"].strip() or centre.suggested_invite_code(
            shopper_id=shopper.pk, remembered=invite_remembered(request._request))
        services.distributor_join(shopper=shopper, invite_code=code,
                                  note=data.validated_data["note"])
        joined_now = already is None or already.status == DistributorStatus.CLEARED
        return Response(MeOutput(_me(request)).data,
                        status=status.HTTP_201_CREATED if joined_now else status.HTTP_200_OK)


# ------------------------------------------------------------------ team


class DepthCountOutput(serializers.Serializer):
    depth = serializers.IntegerField(help_text="1: recruited by you; 2: by them; …")
    members = serializers.IntegerField()


class TeamOutput(TeamTotalsOutput):
    per_depth = DepthCountOutput(many=True)


class DistributionTeamApi(ShopperApiMixin, APIView):
    permission_classes = [IsShopper]

    @extend_schema(responses={200: TeamOutput, **shopper_errors(401, 404)},
                   operation_id="distribution_team")
    def get(self, request):
        distributor = centre.distributor_get_for_shopper(shopper_id=_shopper(request).pk)
        overview = centre.team_overview(distributor=distributor)
        return Response(TeamOutput({
            "members": overview.members, "direct": overview.direct,
            "sales_fen": overview.sales_fen,
            "per_depth": [{"depth": d, "members": n} for d, n in overview.per_depth],
        }).data)


class TeamMemberOutput(serializers.Serializer):
    name = serializers.CharField(help_text="Masked nickname; empty when they have none.")
    invite_code = serializers.CharField()
    depth = serializers.IntegerField()
    status = serializers.ChoiceField(choices=DistributorStatus.choices)
    sales_fen = serializers.IntegerField()
    joined_at = serializers.DateTimeField()


class TeamMembersInput(serializers.Serializer):
    depth = serializers.IntegerField(min_value=1, max_value=50, required=False,
                                     help_text="Only members this many levels down.")


class DistributionTeamMembersApi(ShopperApiMixin, GenericAPIView):
    permission_classes = [IsShopper]
    pagination_class = CentrePagination

    @extend_schema(parameters=[TeamMembersInput],
                   responses={200: TeamMemberOutput(many=True), **shopper_errors(400, 401, 404)},
                   operation_id="distribution_team_members")
    def get(self, request):
        params = TeamMembersInput(data=request.query_params)
        params.is_valid(raise_exception=True)
        distributor = centre.distributor_get_for_shopper(shopper_id=_shopper(request).pk)
        members = centre.team_members(distributor=distributor,
                                         depth=params.validated_data.get("depth"))
        page = self.paginate_queryset(members)
        rows = [vars(centre.team_member_view(m, leader=distributor)) for m in page]
        return self.get_paginated_response(TeamMemberOutput(rows, many=True).data)


# ------------------------------------------------------------------ commissions


class CommissionOutput(serializers.Serializer):
    id = serializers.IntegerField()
    order_number = serializers.CharField(help_text="Masked.")
    title = serializers.CharField(help_text="The order line's goods.")
    tier = serializers.IntegerField(help_text="1–3; 0 for a team reward.")
    tier_label = serializers.CharField()
    status = serializers.ChoiceField(choices=CommissionStatus.choices)
    status_label = serializers.CharField()
    amount_fen = serializers.IntegerField()
    reversed_fen = serializers.IntegerField()
    kept_fen = serializers.IntegerField(help_text="amount_fen − reversed_fen")
    base_fen = serializers.IntegerField(help_text="What the buyer paid for the line.")
    rate_bp = serializers.IntegerField(help_text="Basis points (stage bonus included).")
    fixed_fen = serializers.IntegerField(help_text="Per unit, for a fixed-amount item.")
    plan_version = serializers.IntegerField()
    rule = serializers.CharField()
    explanation = serializers.CharField(help_text="The computation in a sentence.")
    earned_at = serializers.DateTimeField()


class CommissionListInput(serializers.Serializer):
    status = serializers.ChoiceField(choices=CommissionStatus.choices, required=False)


class DistributionCommissionsApi(ShopperApiMixin, GenericAPIView):
    permission_classes = [IsShopper]
    pagination_class = CentrePagination

    @extend_schema(parameters=[CommissionListInput],
                   responses={200: CommissionOutput(many=True), **shopper_errors(400, 401, 404)},
                   operation_id="distribution_commissions")
    def get(self, request):
        params = CommissionListInput(data=request.query_params)
        params.is_valid(raise_exception=True)
        distributor = centre.distributor_get_for_shopper(shopper_id=_shopper(request).pk)
        rows = centre.commission_list(distributor_id=distributor.pk,
                                         status=params.validated_data.get("status"))
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(
            CommissionOutput([vars(commission_row(c)) for c in page], many=True).data)


# ------------------------------------------------------------------ withdrawals


class ConfirmationOutput(serializers.Serializer):
    mch_id = serializers.CharField()
    sub_mch_id = serializers.CharField()
    app_id = serializers.CharField()
    package = serializers.CharField(help_text="For requestMerchantTransfer inside WeChat.")


class WithdrawalOutput(serializers.Serializer):
    out_bill_no = serializers.CharField()
    amount_fen = serializers.IntegerField()
    fee_fen = serializers.IntegerField()
    net_fen = serializers.IntegerField()
    status = serializers.CharField()
    status_label = serializers.CharField()
    reason = serializers.CharField()
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    confirmation = ConfirmationOutput(
        allow_null=True, help_text="Set while WeChat waits for the user to confirm receipt.")


def _withdrawal_body(row: centre.WithdrawalRow) -> dict:
    w = row.withdrawal
    return {
        "out_bill_no": w.out_bill_no, "amount_fen": w.amount_fen, "fee_fen": w.fee_fen,
        "net_fen": w.net_fen, "status": w.status,
        "status_label": str(WITHDRAWAL_STATUS_LABELS.get(w.status, w.status)),
        "reason": w.reason, "created_at": w.created_at, "finished_at": w.finished_at,
        "confirmation": vars(row.confirmation) if row.confirmation else None,
    }


class WithdrawalInput(serializers.Serializer):
    amount_fen = serializers.IntegerField(min_value=1, max_value=MAX_AMOUNT_FEN,
                                          help_text="Whole fen (分).")
    real_name = serializers.CharField(max_length=32, required=False, allow_blank=True,
                                      default="", help_text="Required from ¥2,000.")


class DistributionWithdrawalsApi(ShopperApiMixin, GenericAPIView):
    permission_classes = [IsShopper]
    pagination_class = CentrePagination

    @extend_schema(responses={200: WithdrawalOutput(many=True), **shopper_errors(401, 404)},
                   operation_id="distribution_withdrawals_list")
    def get(self, request):
        distributor = centre.distributor_get_for_shopper(shopper_id=_shopper(request).pk)
        page = self.paginate_queryset(centre.withdrawal_list(distributor_id=distributor.pk))
        rows = centre.withdrawal_rows(page)
        return self.get_paginated_response(
            WithdrawalOutput([_withdrawal_body(row) for row in rows], many=True).data)

    @extend_schema(request=WithdrawalInput,
                   responses={201: WithdrawalOutput, **shopper_errors(400, 401, 403, 404, 409)},
                   operation_id="distribution_withdrawals_create",
                   description="Withdraw part of the withdrawable balance to the WeChat "
                   "balance; refused with the reason (minimum, balance, daily limits, real "
                   "name from ¥2,000, WeChat sign-in needed).")
    def post(self, request):
        data = WithdrawalInput(data=request.data)
        data.is_valid(raise_exception=True)
        distributor = centre.distributor_get_for_shopper(shopper_id=_shopper(request).pk)
        withdrawal = withdrawals.withdrawal_request(
            distributor_id=distributor.pk, amount_fen=data.validated_data["amount_fen"],
            real_name=data.validated_data["real_name"])
        (row,) = centre.withdrawal_rows([withdrawal])
        return Response(WithdrawalOutput(_withdrawal_body(row)).data,
                        status=status.HTTP_201_CREATED)


# ------------------------------------------------------------------ poster and calculator


class PosterInput(serializers.Serializer):
    product = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False,
                                       help_text="A product for sale; the shop's poster "
                                       "without it.")


class DistributionPosterApi(ShopperApiMixin, APIView):
    permission_classes = [IsShopper]

    def perform_content_negotiation(self, request, force=False):
        """A PNG for any Accept (an <img> asks for image/*); errors stay JSON."""
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(parameters=[PosterInput],
                   responses={(200, "image/png"): OpenApiTypes.BINARY,
                              **shopper_errors(400, 401, 404, 409)},
                   operation_id="distribution_poster",
                   description="The share poster: picture, title, price, nickname and the QR "
                   "code of the distributor's link. 409 until the distributor is active.")
    def get(self, request):
        params = PosterInput(data=request.query_params)
        params.is_valid(raise_exception=True)
        product_id = params.validated_data.get("product")
        distributor = centre.distributor_for_sharing(shopper_id=_shopper(request).pk)
        mall = request._request.tenant.name
        subject = posters.poster_subject(product_id=product_id, mall_name=mall)
        path = f"/products/{product_id}/" if product_id else "/"
        png = posters.poster_render(
            subject=subject, mall_name=mall, nickname=distributor.shopper.nickname or "",
            link_url=request.build_absolute_uri(
                centre.share_path(distributor=distributor, path=path)),
        )
        response = HttpResponse(png, content_type="image/png")
        response["Cache-Control"] = "private, max-age=300"
        return response


class CalculatorInput(serializers.Serializer):
    price_fen = serializers.IntegerField(min_value=1, max_value=PREVIEW_MAX_PRICE_FEN)
    quantity = serializers.IntegerField(min_value=1, max_value=PREVIEW_MAX_QUANTITY, default=1)


class TierAmountOutput(serializers.Serializer):
    tier = serializers.IntegerField(help_text="1: your customer buys; 2: your recruit's.")
    amount_fen = serializers.IntegerField()


class CalculatorOutput(serializers.Serializer):
    available = serializers.BooleanField(help_text="False when no plan is in force.")
    plan_version = serializers.IntegerField(allow_null=True)
    plan_name = serializers.CharField(allow_null=True)
    price_fen = serializers.IntegerField()
    quantity = serializers.IntegerField()
    tiers = TierAmountOutput(many=True)
    explanations = serializers.ListField(child=serializers.DictField())


class DistributionCalculatorApi(ShopperApiMixin, APIView):
    permission_classes = [IsShopper]

    @extend_schema(parameters=[CalculatorInput],
                   responses={200: CalculatorOutput, **shopper_errors(400, 401)},
                   operation_id="distribution_calculator",
                   description="What a sale of `quantity` × `price_fen` would earn under the "
                   "active plan, at the caller's level (the same arithmetic as a paid order).")
    def get(self, request):
        params = CalculatorInput(data=request.query_params)
        params.is_valid(raise_exception=True)
        values = params.validated_data
        distributor = centre.distributor_for_shopper(shopper_id=_shopper(request).pk)
        preview = centre.earnings_preview(distributor=distributor,
                                             price_fen=values["price_fen"],
                                             quantity=values["quantity"])
        body = {"available": preview is not None, "plan_version": None, "plan_name": None,
                "price_fen": values["price_fen"], "quantity": values["quantity"],
                "tiers": [], "explanations": []}
        if preview is not None:
            body.update(plan_version=preview.plan.version, plan_name=preview.plan.name,
                        tiers=preview.tiers, explanations=preview.explanations)
        return Response(CalculatorOutput(body).data)

