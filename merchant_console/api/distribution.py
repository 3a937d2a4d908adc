"""The staff API of the distribution programme (under /api/v1/console/distribution/).

Distributors and their tree, customer bindings, levels, the mall's settings, commission
plans, monthly statements, withdrawals and compliance alerts, each behind the Django model
permission it reads or changes (`distribution.view_distributor`, `…change_distributor`;
finance approves statements and withdrawals with `change_statement` / `change_withdrawal`;
the owner is a superuser and holds them all). Thin views: check, fetch, call the service.
Bad input is a 400 naming the field, an unknown id in the path a 404, an illegal move a 409
(the services raise them; control_plane.api_errors renders {code, message, fields}).
"""

from __future__ import annotations

import datetime as dt

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from control_plane.api_schema import staff_errors
from merchant_console import distribution as actions
from merchant_console.api.orders import (
    ConsolePagination,
    ConsoleShopperRefOutput,
    ConsoleTimelineOutput,
)
from merchant_console.api.permissions import StaffApiMixin
from storefront.distribution import (
    compliance,
    levels,
    plans,
    program_settings,
    selectors,
    tree,
)
from storefront.distribution.models import (
    AlertKind,
    CommissionKind,
    DistributionSettings,
    DistributorStatus,
    Level,
    PayoutRoute,
    PlanStatus,
    RateSource,
    StatementStatus,
    WithdrawalStatus,
)

P = "distribution."


def _page(view: GenericAPIView, queryset, output):
    page = view.paginate_queryset(queryset)
    return view.get_paginated_response(output(page, many=True).data)


def _valid(serializer_class, data) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


# ------------------------------------------------------------------ output


class DistributorRefOutput(serializers.Serializer):
    id = serializers.IntegerField()
    invite_code = serializers.CharField()


class LevelRefOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    rank = serializers.IntegerField()


class DistributorOutput(serializers.Serializer):
    id = serializers.IntegerField()
    invite_code = serializers.CharField()
    status = serializers.ChoiceField(choices=DistributorStatus.choices)
    shopper = ConsoleShopperRefOutput()
    level = LevelRefOutput(allow_null=True)
    recruiter = DistributorRefOutput(allow_null=True)
    depth = serializers.IntegerField()
    joined_via = serializers.CharField()
    application_note = serializers.CharField()
    sales_fen = serializers.IntegerField(help_text="Attributed sales, less refunds.")
    created_at = serializers.DateTimeField()
    activated_at = serializers.DateTimeField(allow_null=True)
    frozen_at = serializers.DateTimeField(allow_null=True)
    cleared_at = serializers.DateTimeField(allow_null=True)


class TeamOutput(serializers.Serializer):
    members = serializers.IntegerField(help_text="Everyone below, at any depth.")
    direct = serializers.IntegerField()
    sales_fen = serializers.IntegerField()


class FiguresOutput(serializers.Serializer):
    month = serializers.DateField()
    monthly_gmv_fen = serializers.IntegerField()
    total_gmv_fen = serializers.IntegerField()
    own_purchases_fen = serializers.IntegerField()
    direct_recruits = serializers.IntegerField()
    team_sales_fen = serializers.IntegerField()


class LevelChangeOutput(serializers.Serializer):
    from_level = LevelRefOutput(allow_null=True)
    to_level = LevelRefOutput(allow_null=True)
    reason = serializers.CharField()
    actor_kind = serializers.CharField()
    actor_id = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()


class DistributorDetailOutput(DistributorOutput):
    team = serializers.SerializerMethodField()
    figures = serializers.SerializerMethodField(
        help_text="This month's figures, which level conditions are checked against.")
    timeline = ConsoleTimelineOutput(source="events.all", many=True)
    level_changes = LevelChangeOutput(many=True, source="level_changes.all")

    @extend_schema_field(TeamOutput)
    def get_team(self, distributor) -> dict:
        return TeamOutput(tree.team_totals(distributor)).data

    @extend_schema_field(FiguresOutput)
    def get_figures(self, distributor) -> dict:
        return FiguresOutput(levels.distributor_figures(distributor)).data


class CustomerOutput(serializers.Serializer):
    shopper = ConsoleShopperRefOutput()
    bound_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField(allow_null=True)
    protected_until = serializers.DateTimeField(allow_null=True)


class BindingChangeOutput(serializers.Serializer):
    from_distributor = DistributorRefOutput(allow_null=True)
    to_distributor = DistributorRefOutput(allow_null=True)
    reason = serializers.CharField()
    actor_kind = serializers.CharField()
    actor_id = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()


class LevelOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    rank = serializers.IntegerField()
    rates_bp = serializers.ListField(child=serializers.IntegerField())
    conditions = serializers.DictField(child=serializers.IntegerField())
    match_all = serializers.BooleanField()
    demote_monthly = serializers.BooleanField()


class PlanOutput(serializers.Serializer):
    id = serializers.IntegerField()
    version = serializers.IntegerField()
    status = serializers.ChoiceField(choices=PlanStatus.choices)
    name = serializers.CharField()
    tiers = serializers.IntegerField()
    rate_source = serializers.ChoiceField(choices=RateSource.choices)
    rates_bp = serializers.ListField(child=serializers.IntegerField())
    self_purchase = serializers.BooleanField()
    stage_bonuses = serializers.ListField(child=serializers.DictField())
    team_reward = serializers.DictField()
    payout_route = serializers.ChoiceField(choices=PayoutRoute.choices)
    created_at = serializers.DateTimeField()
    activated_at = serializers.DateTimeField(allow_null=True)


class StatementOutput(serializers.Serializer):
    id = serializers.IntegerField()
    distributor = DistributorRefOutput()
    month = serializers.DateField()
    gross_fen = serializers.IntegerField()
    tax_fen = serializers.IntegerField()
    net_fen = serializers.IntegerField()
    entry_count = serializers.IntegerField()
    status = serializers.ChoiceField(choices=StatementStatus.choices)
    review_reasons = serializers.ListField(child=serializers.CharField())
    hold_reason = serializers.CharField()
    created_at = serializers.DateTimeField()
    approved_at = serializers.DateTimeField(allow_null=True)


class WithdrawalOutput(serializers.Serializer):
    id = serializers.IntegerField()
    distributor = DistributorRefOutput()
    amount_fen = serializers.IntegerField()
    fee_fen = serializers.IntegerField()
    net_fen = serializers.IntegerField()
    status = serializers.ChoiceField(choices=WithdrawalStatus.choices)
    out_bill_no = serializers.CharField()
    real_name_given = serializers.BooleanField()
    risk_reasons = serializers.ListField(child=serializers.CharField())
    reason = serializers.CharField()
    created_at = serializers.DateTimeField()
    decided_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)


class AlertOutput(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=AlertKind.choices)
    distributor = DistributorRefOutput(allow_null=True)
    day = serializers.DateField()
    summary = serializers.CharField()
    details = serializers.DictField()
    created_at = serializers.DateTimeField()
    resolved_at = serializers.DateTimeField(allow_null=True)
    resolved_by_id = serializers.IntegerField(allow_null=True)


class AlertCountOutput(serializers.Serializer):
    open = serializers.IntegerField()
    by_kind = serializers.DictField(child=serializers.IntegerField())


# ------------------------------------------------------------------ distributors


class DistributorListInput(serializers.Serializer):
    status = serializers.ChoiceField(choices=DistributorStatus.values, required=False)
    level_id = serializers.IntegerField(min_value=1, required=False)
    q = serializers.CharField(max_length=20, required=False, allow_blank=True,
                              help_text="An invite code, or the start of a phone number.")


class StaffDistributorListApi(StaffApiMixin, GenericAPIView):
    required_permissions = {"GET": P + "view_distributor"}
    pagination_class = ConsolePagination

    @extend_schema(parameters=[DistributorListInput],
                   responses={200: DistributorOutput(many=True), **staff_errors(400, 403)},
                   operation_id="console_distributors_list")
    def get(self, request):
        params = _valid(DistributorListInput, request.query_params)
        return _page(self, selectors.distributor_list(**params), DistributorOutput)


def _detail(distributor_id: int) -> dict:
    return DistributorDetailOutput(selectors.distributor_get(distributor_id=distributor_id)).data


class StaffDistributorDetailApi(StaffApiMixin, APIView):
    required_permissions = {"GET": P + "view_distributor"}

    @extend_schema(responses={200: DistributorDetailOutput, **staff_errors(403, 404)},
                   operation_id="console_distributors_get",
                   description="A distributor with their team's totals and this month's "
                               "figures (what their level's conditions are checked against).")
    def get(self, request, distributor_id: int):
        return Response(_detail(distributor_id))


class AssignInput(serializers.Serializer):
    shopper_id = serializers.IntegerField(min_value=1)
    recruiter_id = serializers.IntegerField(min_value=1, required=False, allow_null=True,
                                            default=None)


class StaffDistributorAssignApi(StaffApiMixin, APIView):
    required_permissions = {"POST": P + "add_distributor"}

    @extend_schema(request=AssignInput,
                   responses={201: DistributorDetailOutput, **staff_errors(400, 403, 409)},
                   operation_id="console_distributors_assign",
                   description="Make a shopper an active distributor, whatever the join mode.")
    def post(self, request):
        data = _valid(AssignInput, request.data)
        distributor = actions.distributor_assign(user=request.user,
                                                 shopper_id=data["shopper_id"],
                                                 recruiter_id=data["recruiter_id"])
        return Response(_detail(distributor.pk), status=201)


class ReasonInput(serializers.Serializer):
    reason = serializers.CharField(max_length=200, help_text="Why; kept in the history.")


class _DistributorMove(StaffApiMixin, APIView):
    """approve / freeze / unfreeze / clear: one service call each."""

    required_permissions = {"POST": P + "change_distributor"}
    needs_reason = False

    def move(self, request, distributor_id: int) -> None:
        raise NotImplementedError

    def post(self, request, distributor_id: int):
        selectors.distributor_get(distributor_id=distributor_id)
        self.move(request, distributor_id)
        return Response(_detail(distributor_id))


def _move_schema(operation_id: str, description: str, *, reason: bool):
    return extend_schema(
        request=ReasonInput if reason else None, operation_id=operation_id,
        responses={200: DistributorDetailOutput, **staff_errors(400, 403, 404, 409)},
        description=description,
    )


class StaffDistributorApproveApi(_DistributorMove):
    @_move_schema("console_distributors_approve", "Approve a pending application.",
                  reason=False)
    def post(self, request, distributor_id: int):
        return super().post(request, distributor_id)

    def move(self, request, distributor_id):
        actions.distributor_approve(user=request.user, distributor_id=distributor_id)


class StaffDistributorFreezeApi(_DistributorMove):
    @_move_schema("console_distributors_freeze", "Freeze: no commission on new orders, no "
                  "withdrawals; what was earned stays theirs.", reason=True)
    def post(self, request, distributor_id: int):
        return super().post(request, distributor_id)

    def move(self, request, distributor_id):
        reason = _valid(ReasonInput, request.data)["reason"]
        actions.distributor_freeze(user=request.user, distributor_id=distributor_id,
                                   reason=reason)


class StaffDistributorUnfreezeApi(_DistributorMove):
    @_move_schema("console_distributors_unfreeze", "Make a frozen distributor active again.",
                  reason=False)
    def post(self, request, distributor_id: int):
        return super().post(request, distributor_id)

    def move(self, request, distributor_id):
        reason = request.data.get("reason", "") if hasattr(request.data, "get") else ""
        actions.distributor_unfreeze(user=request.user, distributor_id=distributor_id,
                                     reason=reason if isinstance(reason, str) else "")


class StaffDistributorClearApi(_DistributorMove):
    @_move_schema("console_distributors_clear", "Close the account for good (a rejected "
                  "application, or a distributor who left).", reason=True)
    def post(self, request, distributor_id: int):
        return super().post(request, distributor_id)

    def move(self, request, distributor_id):
        reason = _valid(ReasonInput, request.data)["reason"]
        actions.distributor_clear(user=request.user, distributor_id=distributor_id,
                                  reason=reason)


class LevelSetInput(serializers.Serializer):
    level_id = serializers.IntegerField(min_value=1, allow_null=True)
    reason = serializers.CharField(max_length=200)


class StaffDistributorLevelApi(_DistributorMove):
    @extend_schema(request=LevelSetInput, operation_id="console_distributors_set_level",
                   responses={200: DistributorDetailOutput, **staff_errors(400, 403, 404)},
                   description="Put a distributor on a level (null: none); recorded with "
                               "the reason.")
    def post(self, request, distributor_id: int):
        return super().post(request, distributor_id)

    def move(self, request, distributor_id):
        data = _valid(LevelSetInput, request.data)
        actions.distributor_level_set(user=request.user, distributor_id=distributor_id,
                                      level_id=data["level_id"], reason=data["reason"])


class RecruiterInput(serializers.Serializer):
    recruiter_id = serializers.IntegerField(min_value=1, allow_null=True,
                                            help_text="null: move to the top of the tree.")
    reason = serializers.CharField(max_length=200)


class StaffDistributorRecruiterApi(_DistributorMove):
    @extend_schema(request=RecruiterInput, operation_id="console_distributors_set_recruiter",
                   responses={200: DistributorDetailOutput, **staff_errors(400, 403, 404, 409)},
                   description="Move a distributor and their whole team under another "
                               "recruiter; 409 when that would make a cycle.")
    def post(self, request, distributor_id: int):
        return super().post(request, distributor_id)

    def move(self, request, distributor_id):
        data = _valid(RecruiterInput, request.data)
        actions.distributor_recruiter_set(user=request.user, distributor_id=distributor_id,
                                          recruiter_id=data["recruiter_id"],
                                          reason=data["reason"])


class StaffDistributorCustomersApi(StaffApiMixin, GenericAPIView):
    required_permissions = {"GET": P + "view_customerbinding"}
    pagination_class = ConsolePagination

    @extend_schema(responses={200: CustomerOutput(many=True), **staff_errors(403, 404)},
                   operation_id="console_distributors_customers")
    def get(self, request, distributor_id: int):
        return _page(self, selectors.customers_of(distributor_id=distributor_id),
                     CustomerOutput)


class TeamInput(serializers.Serializer):
    depth = serializers.IntegerField(min_value=1, max_value=1000, required=False,
                                     help_text="Only members this many levels below.")


class StaffDistributorTeamApi(StaffApiMixin, GenericAPIView):
    required_permissions = {"GET": P + "view_distributor"}
    pagination_class = ConsolePagination

    @extend_schema(parameters=[TeamInput],
                   responses={200: DistributorOutput(many=True), **staff_errors(400, 403, 404)},
                   operation_id="console_distributors_team",
                   description="Everyone below a distributor, nearest first.")
    def get(self, request, distributor_id: int):
        params = _valid(TeamInput, request.query_params)
        leader = selectors.distributor_get(distributor_id=distributor_id)
        return _page(self, selectors.team_of(distributor=leader, depth=params.get("depth")),
                     DistributorOutput)


class BindingChangeWithShopperOutput(BindingChangeOutput):
    shopper = ConsoleShopperRefOutput()


class StaffDistributorBindingChangesApi(StaffApiMixin, GenericAPIView):
    required_permissions = {"GET": P + "view_customerbinding"}
    pagination_class = ConsolePagination

    @extend_schema(responses={200: BindingChangeWithShopperOutput(many=True),
                              **staff_errors(403, 404)},
                   operation_id="console_distributors_binding_changes",
                   description="Customers bound to or taken from a distributor, newest "
                               "first.")
    def get(self, request, distributor_id: int):
        return _page(self, selectors.binding_changes_of(distributor_id=distributor_id),
                     BindingChangeWithShopperOutput)


class StaffBindingHistoryApi(StaffApiMixin, GenericAPIView):
    required_permissions = {"GET": P + "view_customerbinding"}
    pagination_class = ConsolePagination

    @extend_schema(responses={200: BindingChangeOutput(many=True), **staff_errors(403, 404)},
                   operation_id="console_shoppers_binding_history",
                   description="Every change of a shopper's binding, oldest first.")
    def get(self, request, shopper_id: int):
        return _page(self, selectors.binding_history(shopper_id=shopper_id),
                     BindingChangeOutput)


# ------------------------------------------------------------------ levels


class LevelInput(serializers.Serializer):
    """What the level service reads (it checks every value and refuses unknown keys)."""

    name = serializers.CharField(max_length=20)
    rank = serializers.IntegerField(min_value=0, max_value=levels.MAX_RANK)
    rates_bp = serializers.ListField(child=serializers.IntegerField(min_value=0,
                                                                    max_value=10_000),
                                     max_length=3, required=False)
    conditions = serializers.DictField(
        child=serializers.IntegerField(min_value=0), required=False,
        help_text="Keys: " + ", ".join(levels.CONDITION_KEYS) + ". direct_recruits only "
                  "with match_all and a positive sales condition (《禁止传销条例》 art. 7).")
    match_all = serializers.BooleanField(required=False)
    demote_monthly = serializers.BooleanField(required=False)


class StaffLevelListApi(StaffApiMixin, APIView):
    required_permissions = {"GET": P + "view_level", "POST": P + "add_level"}

    @extend_schema(responses={200: LevelOutput(many=True), **staff_errors(403)},
                   operation_id="console_levels_list")
    def get(self, request):
        return Response(LevelOutput(Level.objects.order_by("rank"), many=True).data)

    @extend_schema(request=LevelInput,
                   responses={201: LevelOutput, **staff_errors(400, 403)},
                   operation_id="console_levels_create")
    def post(self, request):
        level = actions.level_create(user=request.user, data=request.data)
        return Response(LevelOutput(level).data, status=201)


class StaffLevelDetailApi(StaffApiMixin, APIView):
    required_permissions = {"GET": P + "view_level", "PATCH": P + "change_level",
                            "DELETE": P + "delete_level"}

    @extend_schema(responses={200: LevelOutput, **staff_errors(403, 404)},
                   operation_id="console_levels_get")
    def get(self, request, level_id: int):
        return Response(LevelOutput(levels.level_get(level_id=level_id)).data)

    @extend_schema(request=LevelInput(partial=True),
                   responses={200: LevelOutput, **staff_errors(400, 403, 404)},
                   operation_id="console_levels_update")
    def patch(self, request, level_id: int):
        level = actions.level_update(user=request.user, level_id=level_id, data=request.data)
        return Response(LevelOutput(level).data)

    @extend_schema(responses={204: None, **staff_errors(403, 404, 409)},
                   operation_id="console_levels_delete",
                   description="Only a level nobody holds or held, and no plan names.")
    def delete(self, request, level_id: int):
        actions.level_delete(user=request.user, level_id=level_id)
        return Response(status=204)


# ------------------------------------------------------------------ settings


class SettingsOutput(serializers.Serializer):
    enabled = serializers.BooleanField()
    join_mode = serializers.CharField()
    enroll_buyers = serializers.BooleanField()
    binding_mode = serializers.CharField()
    binding_days = serializers.IntegerField()
    protection_days = serializers.IntegerField()
    bind_new_customers_only = serializers.BooleanField()
    commission_cap_bp = serializers.IntegerField()
    commission_hold_days = serializers.IntegerField()
    settlement = serializers.CharField()
    statement_review_from_fen = serializers.IntegerField()
    withhold_income_tax = serializers.BooleanField()
    withdrawal_min_fen = serializers.IntegerField()
    withdrawal_fee_bp = serializers.IntegerField()
    withdrawal_fee_min_fen = serializers.IntegerField()
    withdrawal_daily_count = serializers.IntegerField()
    withdrawal_daily_fen = serializers.IntegerField()
    withdrawal_review_from_fen = serializers.IntegerField()
    withdrawal_review_new_days = serializers.IntegerField()


class StaffSettingsApi(StaffApiMixin, APIView):
    required_permissions = {"GET": P + "view_distributionsettings",
                            "PATCH": P + "change_distributionsettings"}

    @extend_schema(responses={200: SettingsOutput, **staff_errors(403)},
                   operation_id="console_distribution_settings_get")
    def get(self, request):
        rules = DistributionSettings.current()
        return Response(SettingsOutput(program_settings.settings_as_dict(rules)).data)

    @extend_schema(request=SettingsOutput(partial=True),
                   responses={200: SettingsOutput, **staff_errors(400, 403)},
                   operation_id="console_distribution_settings_update",
                   description="Change some settings; each refusal names its field and "
                               "nothing is saved unless all of it is right.")
    def patch(self, request):
        rules = actions.settings_update(user=request.user, data=request.data)
        return Response(SettingsOutput(program_settings.settings_as_dict(rules)).data)


# ------------------------------------------------------------------ plans


class PlanInput(serializers.Serializer):
    """What the plan service reads; it refuses unknown keys, any reward per head or entry
    fee, and rates that could pass the mall's cap."""

    name = serializers.CharField(max_length=60)
    tiers = serializers.IntegerField(min_value=1, max_value=3, required=False)
    rate_source = serializers.ChoiceField(choices=RateSource.choices, required=False)
    rates_bp = serializers.ListField(child=serializers.IntegerField(), required=False)
    self_purchase = serializers.BooleanField(required=False)
    stage_bonuses = serializers.ListField(child=serializers.DictField(), required=False)
    team_reward = serializers.DictField(required=False)
    payout_route = serializers.ChoiceField(choices=PayoutRoute.choices, required=False)


class StaffPlanListApi(StaffApiMixin, GenericAPIView):
    required_permissions = {"GET": P + "view_commissionplan", "POST": P + "add_commissionplan"}
    pagination_class = ConsolePagination

    @extend_schema(responses={200: PlanOutput(many=True), **staff_errors(403)},
                   operation_id="console_plans_list")
    def get(self, request):
        return _page(self, selectors.plan_list(), PlanOutput)

    @extend_schema(request=PlanInput, responses={201: PlanOutput, **staff_errors(400, 403)},
                   operation_id="console_plans_create",
                   description="Save a plan as the next draft version.")
    def post(self, request):
        plan = actions.plan_create(user=request.user, data=request.data)
        return Response(PlanOutput(plan).data, status=201)


class StaffPlanDetailApi(StaffApiMixin, APIView):
    required_permissions = {"GET": P + "view_commissionplan",
                            "PUT": P + "change_commissionplan"}

    @extend_schema(responses={200: PlanOutput, **staff_errors(403, 404)},
                   operation_id="console_plans_get")
    def get(self, request, plan_id: int):
        return Response(PlanOutput(selectors.plan_get(plan_id=plan_id)).data)

    @extend_schema(request=PlanInput,
                   responses={200: PlanOutput, **staff_errors(400, 403, 404, 409)},
                   operation_id="console_plans_update",
                   description="Replace a draft's fields (validated as a new plan is); an "
                               "active or retired plan never changes (409).")
    def put(self, request, plan_id: int):
        selectors.plan_get(plan_id=plan_id)
        plan = actions.plan_update(user=request.user, plan_id=plan_id, data=request.data)
        return Response(PlanOutput(plan).data)


class StaffPlanActivateApi(StaffApiMixin, APIView):
    required_permissions = {"POST": P + "change_commissionplan"}

    @extend_schema(request=None,
                   responses={200: PlanOutput, **staff_errors(400, 403, 404, 409)},
                   operation_id="console_plans_activate",
                   description="Make a draft the active plan; the one before is retired. "
                               "Orders already paid keep the version they were paid under.")
    def post(self, request, plan_id: int):
        plan = actions.plan_activate(user=request.user, plan_id=plan_id)
        return Response(PlanOutput(plan).data)


class PreviewOverrideInput(serializers.Serializer):
    mode = serializers.ChoiceField(choices=["none", "fixed", "rates"])
    fixed_fen = serializers.IntegerField(min_value=0, required=False)
    rates_bp = serializers.ListField(
        child=serializers.IntegerField(min_value=0, max_value=10_000), max_length=3,
        required=False)


class PreviewLineInput(serializers.Serializer):
    paid_fen = serializers.IntegerField(min_value=0, max_value=2_147_483_647)
    quantity = serializers.IntegerField(min_value=1, max_value=9999, default=1)
    override = PreviewOverrideInput(required=False)


class PreviewInput(serializers.Serializer):
    plan = serializers.DictField(help_text="A plan as for creating one (not saved).")
    lines = PreviewLineInput(many=True, min_length=1, max_length=100)
    level_ranks = serializers.ListField(child=serializers.IntegerField(min_value=0),
                                        max_length=3, required=False, default=list,
                                        help_text="Each tier's level, for a plan by level.")
    monthly_sales_fen = serializers.IntegerField(min_value=0, required=False, default=0)


class PreviewShareOutput(serializers.Serializer):
    line = serializers.IntegerField()
    tier = serializers.IntegerField()
    amount_fen = serializers.IntegerField()
    explanation = serializers.DictField()


class PreviewTierOutput(serializers.Serializer):
    tier = serializers.IntegerField()
    amount_fen = serializers.IntegerField()


class PreviewOutput(serializers.Serializer):
    shares = PreviewShareOutput(many=True)
    tiers = PreviewTierOutput(many=True)
    total_fen = serializers.IntegerField()


class StaffPlanPreviewApi(StaffApiMixin, APIView):
    required_permissions = {"POST": P + "view_commissionplan"}

    @extend_schema(request=PreviewInput, responses={200: PreviewOutput,
                                                    **staff_errors(400, 403)},
                   operation_id="console_plans_preview",
                   description="What each tier would earn on a sample cart under a plan "
                               "not yet saved.")
    def post(self, request):
        data = _valid(PreviewInput, request.data)
        preview = plans.plan_preview(data["plan"], lines=data["lines"],
                                     level_ranks=data["level_ranks"],
                                     monthly_sales_fen=data["monthly_sales_fen"])
        return Response(PreviewOutput(preview).data)


# ------------------------------------------------------------------ statements


class StatementListInput(serializers.Serializer):
    month = serializers.RegexField(r"^\d{4}-(0[1-9]|1[0-2])$", required=False,
                                   help_text="YYYY-MM (Asia/Shanghai).")
    status = serializers.ChoiceField(choices=StatementStatus.values, required=False)


class StaffStatementListApi(StaffApiMixin, GenericAPIView):
    required_permissions = {"GET": P + "view_statement"}
    pagination_class = ConsolePagination

    @extend_schema(parameters=[StatementListInput],
                   responses={200: StatementOutput(many=True), **staff_errors(400, 403)},
                   operation_id="console_statements_list")
    def get(self, request):
        params = _valid(StatementListInput, request.query_params)
        month = params.get("month")
        if month:
            year, number = map(int, month.split("-"))
            month = dt.date(year, number, 1)
        return _page(self, selectors.statement_list(month=month, status=params.get("status")),
                     StatementOutput)


class StatementCommissionOutput(serializers.Serializer):
    id = serializers.IntegerField()
    order_number = serializers.CharField(source="order.number")
    kind = serializers.ChoiceField(choices=CommissionKind.choices)
    tier = serializers.IntegerField()
    base_fen = serializers.IntegerField()
    rate_bp = serializers.IntegerField()
    amount_fen = serializers.IntegerField()
    reversed_fen = serializers.IntegerField()
    plan_version = serializers.IntegerField()
    earned_at = serializers.DateTimeField()


class StatementReversalOutput(serializers.Serializer):
    id = serializers.IntegerField()
    commission_id = serializers.IntegerField()
    order_number = serializers.CharField(source="commission.order.number")
    amount_fen = serializers.IntegerField()
    created_at = serializers.DateTimeField()


class StatementDetailOutput(StatementOutput):
    commissions = serializers.SerializerMethodField()
    reversals = serializers.SerializerMethodField()

    @extend_schema_field(StatementCommissionOutput(many=True))
    def get_commissions(self, statement) -> list:
        return StatementCommissionOutput(
            selectors.statement_commissions(statement=statement), many=True).data

    @extend_schema_field(StatementReversalOutput(many=True))
    def get_reversals(self, statement) -> list:
        return StatementReversalOutput(
            selectors.statement_reversals(statement=statement), many=True).data


class StaffStatementDetailApi(StaffApiMixin, APIView):
    required_permissions = {"GET": P + "view_statement"}

    @extend_schema(responses={200: StatementDetailOutput, **staff_errors(403, 404)},
                   operation_id="console_statements_get",
                   description="A statement with the commissions it settled and the "
                               "reversals netted against it.")
    def get(self, request, statement_id: int):
        return Response(StatementDetailOutput(
            selectors.statement_get(statement_id=statement_id)).data)


class StaffStatementApproveApi(StaffApiMixin, APIView):
    required_permissions = {"POST": P + "change_statement"}

    @extend_schema(request=None,
                   responses={200: StatementOutput, **staff_errors(403, 404, 409)},
                   operation_id="console_statements_approve",
                   description="Finance approves a statement under review or held: its "
                               "amount becomes withdrawable.")
    def post(self, request, statement_id: int):
        actions.statement_approve(user=request.user, statement_id=statement_id)
        return Response(StatementOutput(selectors.statement_get(
            statement_id=statement_id)).data)


class StaffStatementHoldApi(StaffApiMixin, APIView):
    required_permissions = {"POST": P + "change_statement"}

    @extend_schema(request=ReasonInput,
                   responses={200: StatementOutput, **staff_errors(400, 403, 404, 409)},
                   operation_id="console_statements_hold")
    def post(self, request, statement_id: int):
        selectors.statement_get(statement_id=statement_id)
        reason = _valid(ReasonInput, request.data)["reason"]
        actions.statement_hold(user=request.user, statement_id=statement_id, reason=reason)
        return Response(StatementOutput(selectors.statement_get(
            statement_id=statement_id)).data)


# ------------------------------------------------------------------ withdrawals


class WithdrawalListInput(serializers.Serializer):
    status = serializers.ChoiceField(choices=WithdrawalStatus.values, required=False)


class StaffWithdrawalListApi(StaffApiMixin, GenericAPIView):
    required_permissions = {"GET": P + "view_withdrawal"}
    pagination_class = ConsolePagination

    @extend_schema(parameters=[WithdrawalListInput],
                   responses={200: WithdrawalOutput(many=True), **staff_errors(400, 403)},
                   operation_id="console_withdrawals_list")
    def get(self, request):
        params = _valid(WithdrawalListInput, request.query_params)
        return _page(self, selectors.withdrawal_list(**params), WithdrawalOutput)


class StaffWithdrawalApproveApi(StaffApiMixin, APIView):
    required_permissions = {"POST": P + "change_withdrawal"}

    @extend_schema(request=None,
                   responses={200: WithdrawalOutput, **staff_errors(403, 404, 409)},
                   operation_id="console_withdrawals_approve",
                   description="Send a withdrawal under review to WeChat.")
    def post(self, request, withdrawal_id: int):
        actions.withdrawal_approve(user=request.user, withdrawal_id=withdrawal_id)
        return Response(WithdrawalOutput(selectors.withdrawal_get(
            withdrawal_id=withdrawal_id)).data)


class StaffWithdrawalRejectApi(StaffApiMixin, APIView):
    required_permissions = {"POST": P + "change_withdrawal"}

    @extend_schema(request=ReasonInput,
                   responses={200: WithdrawalOutput, **staff_errors(400, 403, 404, 409)},
                   operation_id="console_withdrawals_reject",
                   description="Refuse a withdrawal; the money goes back to the balance.")
    def post(self, request, withdrawal_id: int):
        selectors.withdrawal_get(withdrawal_id=withdrawal_id)
        reason = _valid(ReasonInput, request.data)["reason"]
        actions.withdrawal_reject(user=request.user, withdrawal_id=withdrawal_id,
                                  reason=reason)
        return Response(WithdrawalOutput(selectors.withdrawal_get(
            withdrawal_id=withdrawal_id)).data)


# ------------------------------------------------------------------ compliance


class AlertListInput(serializers.Serializer):
    status = serializers.ChoiceField(choices=["open", "resolved", "all"], default="open",
                                     required=False)
    kind = serializers.ChoiceField(choices=AlertKind.values, required=False)


class StaffAlertListApi(StaffApiMixin, GenericAPIView):
    required_permissions = {"GET": P + "view_compliancealert"}
    pagination_class = ConsolePagination

    @extend_schema(parameters=[AlertListInput],
                   responses={200: AlertOutput(many=True), **staff_errors(400, 403)},
                   operation_id="console_compliance_alerts_list")
    def get(self, request):
        params = _valid(AlertListInput, request.query_params)
        return _page(self, compliance.alerts_list(**params), AlertOutput)


class StaffAlertCountApi(StaffApiMixin, APIView):
    required_permissions = {"GET": P + "view_compliancealert"}

    @extend_schema(responses={200: AlertCountOutput, **staff_errors(403)},
                   operation_id="console_compliance_alerts_count")
    def get(self, request):
        return Response(AlertCountOutput(compliance.alerts_open_count()).data)


class ResolveInput(serializers.Serializer):
    note = serializers.CharField(max_length=500, help_text="What you found.")


class StaffAlertResolveApi(StaffApiMixin, APIView):
    required_permissions = {"POST": P + "change_compliancealert"}

    @extend_schema(request=ResolveInput,
                   responses={200: AlertOutput, **staff_errors(400, 403, 404, 409)},
                   operation_id="console_compliance_alerts_resolve")
    def post(self, request, alert_id: int):
        note = _valid(ResolveInput, request.data)["note"]
        alert = actions.alert_resolve(user=request.user, alert_id=alert_id, note=note)
        return Response(AlertOutput(alert).data)


class ReportCheckOutput(serializers.Serializer):
    key = serializers.CharField()
    status = serializers.ChoiceField(choices=["ok", "warning", "fail"])
    title = serializers.CharField()
    detail = serializers.CharField()


class DepthOutput(serializers.Serializer):
    depth = serializers.IntegerField()
    count = serializers.IntegerField()


class TreeStatisticsOutput(serializers.Serializer):
    distributors = serializers.IntegerField()
    by_status = serializers.DictField(child=serializers.IntegerField())
    max_depth = serializers.IntegerField()
    depth_histogram = DepthOutput(many=True)


class ReportAlertsOutput(AlertCountOutput):
    items = AlertOutput(many=True)


class TierTotalOutput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=CommissionKind.choices)
    tier = serializers.IntegerField(help_text="0 for a team reward.")
    count = serializers.IntegerField()
    amount_fen = serializers.IntegerField()
    reversed_fen = serializers.IntegerField()
    net_fen = serializers.IntegerField()


class ComplianceReportOutput(serializers.Serializer):
    generated_at = serializers.DateTimeField()
    rules = serializers.DictField(help_text="The plan in force, levels, caps, join mode.")
    checks = ReportCheckOutput(many=True)
    tree = TreeStatisticsOutput()
    alerts = ReportAlertsOutput()
    commission_by_tier = TierTotalOutput(many=True)


class StaffComplianceReportApi(StaffApiMixin, APIView):
    required_permissions = {"GET": P + "view_compliancealert"}

    @extend_schema(responses={200: ComplianceReportOutput, **staff_errors(403)},
                   operation_id="console_compliance_report",
                   description="The mall's compliance report (《禁止传销条例》 art. 7); the "
                               "printable page is /console/distribution/compliance/.")
    def get(self, request):
        return Response(ComplianceReportOutput(compliance.compliance_report()).data)
