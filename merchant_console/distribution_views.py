"""The console's distribution area (分销): distributors, the commission plan editor with its
live preview, levels, monthly statements and the finance review queue, withdrawals,
compliance alerts and the printable compliance report (《禁止传销条例》 art. 7), and the
programme's settings.

Thin faces over storefront.distribution: each action goes through
merchant_console.distribution (the engine's service and its audit row, one transaction),
the same functions the staff API calls, behind the same permissions. Rates are entered and
shown as percentages and stored in basis points; money is entered in yuan and kept in fen.
"""

from __future__ import annotations

import datetime as dt
import re

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views.decorators.http import require_POST

from billing import limits
from core.errors import DomainError, InvalidInput
from merchant_console import distribution as actions
from merchant_console.access import staff_page
from merchant_console.form_once import submitted_once
from merchant_console.pages import (
    domain_error_text,
    flash_refusal,
    found_or_404,
    query_without_page,
)
from storefront.catalog.models import Sku
from storefront.distribution import (
    compliance,
    levels,
    plans,
    program_settings,
    selectors,
    services,
    tree,
)
from storefront.distribution.compliance import compliance_report
from storefront.distribution.errors import DistributionInvalid
from storefront.distribution.models import (
    PLATFORM_MAX_TIERS,
    AlertKind,
    BindingMode,
    DistributionSettings,
    DistributorStatus,
    JoinMode,
    Level,
    PayoutRoute,
    PlanStatus,
    RateSource,
    SettlementMode,
    StatementStatus,
    WithdrawalStatus,
)

P = "distribution."
PAGE_SIZE = 20

# The engine's choice labels, which these pages translate where they show them
# ({% translate distributor.get_status_display %}): marked here so makemessages keeps them.
CHOICE_LABELS = (
    gettext_noop("Pending approval"),
    gettext_noop("Active"),
    gettext_noop("Frozen"),
    gettext_noop("Cleared"),
    gettext_noop("Draft"),
    gettext_noop("Retired"),
    gettext_noop("Waiting for finance review"),
    gettext_noop("Held by finance"),
    gettext_noop("Approved, in the withdrawable balance"),
    gettext_noop("Waiting for review"),
    gettext_noop("Being transferred"),
    gettext_noop("Paid to WeChat balance"),
    gettext_noop("Rejected"),
    gettext_noop("Failed, returned to the balance"),
    gettext_noop("Static rates per tier"),
    gettext_noop("Rates by the distributor's level"),
    gettext_noop("Monthly statement, withdrawn to WeChat balance"),
    gettext_noop("Profit sharing per order"),
    gettext_noop("Anyone joins on request"),
    gettext_noop("Apply and be approved"),
    gettext_noop("By invitation only"),
    gettext_noop("Assigned by staff only"),
    gettext_noop("Permanent first touch"),
    gettext_noop("First touch, valid N days"),
    gettext_noop("Last touch"),
    gettext_noop("Monthly statements"),
    gettext_noop("As soon as commission is available"),
    gettext_noop("Joined on request"),
    gettext_noop("Applied"),
    gettext_noop("Invited"),
    gettext_noop("Assigned by staff"),
    gettext_noop("Enrolled after a purchase"),
)


# ------------------------------------------------------------------ units


def percent(bp: int) -> str:
    """1250 basis points -> "12.5%" (integers only)."""
    whole, rest = divmod(int(bp), 100)
    return f"{whole}%" if not rest else f"{whole}.{rest:02d}".rstrip("0") + "%"


def percent_input(bp) -> str:
    """Basis points as a form's percentage: 1250 -> "12.5", 0 -> "0"."""
    return percent(bp or 0).rstrip("%")


def yuan_input(fen) -> str:
    fen = int(fen or 0)
    whole, rest = divmod(fen, 100)
    return f"{whole}" if not rest else f"{whole}.{rest:02d}"


_PERCENT = re.compile(r"^\d{1,3}(\.\d{1,2})?$")
_YUAN = re.compile(r"^\d{1,11}(\.\d{1,2})?$")


class FormErrors(dict):
    """field -> [messages], gathered while a form is read."""

    def add(self, field: str, message: str) -> None:
        self.setdefault(field, []).append(message)


def _decimal_units(text: str, scale: int) -> int:
    whole, _dot, frac = text.partition(".")
    return int(whole) * scale + int((frac + "00")[:2]) * scale // 100


def parse_percent(value: str, field: str, errors: FormErrors) -> int | None:
    """"12.5" -> 1250 basis points; at most two decimals, 0 to 100."""
    text = (value or "").strip().rstrip("%").strip()
    if text == "":
        return 0
    if not _PERCENT.match(text) or _decimal_units(text, 100) > 10_000:
        errors.add(field, _("A percentage from 0 to 100, at most two decimals."))
        return None
    return _decimal_units(text, 100)


def parse_yuan(value: str, field: str, errors: FormErrors) -> int | None:
    """"12.34" -> 1234 fen."""
    text = (value or "").strip().lstrip("¥").strip()
    if text == "":
        return 0
    if not _YUAN.match(text):
        errors.add(field, _("An amount in yuan, at most two decimals."))
        return None
    return _decimal_units(text, 100)


def parse_int(value: str, field: str, errors: FormErrors, *, low: int = 0,
              high: int = 10**9) -> int | None:
    text = (value or "").strip()
    if text == "":
        return None
    if not text.isdigit() or not low <= int(text) <= high:
        errors.add(field, _("A whole number from %(low)d to %(high)d.")
                   % {"low": low, "high": high})
        return None
    return int(text)


def _int_param(value, default=None):
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def form_errors_of(exc: DomainError, *, general: str) -> dict[str, list[str]]:
    """A refusal as a form's errors: bad input names its fields; a conflict (a plan that
    is no longer a draft) is said once, above the form."""
    if (isinstance(exc, InvalidInput) or getattr(exc, "upgrade_url", None)) and exc.fields:
        # Bad input, or what the mall's plan does not allow: said at each field.
        return {**exc.fields, general: [exc.message, *exc.fields.get(general, [])]}
    return {general: [domain_error_text(exc)]}


def _require(request, permission: str) -> None:
    if not request.user.has_perm(permission):
        raise PermissionDenied


# ------------------------------------------------------------------ distributors


@staff_page(P + "view_distributor")
def distributor_list(request):
    """Filters: status, level, search (invite code, phone, nickname); 20 a page."""
    status = request.GET.get("status", "")
    status = status if status in DistributorStatus.values else ""
    level_id = _int_param(request.GET.get("level"))
    q = request.GET.get("q", "").strip()[:40]
    rows = selectors.distributor_list(status=status or None, level_id=level_id, q=q)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    counts = selectors.distributor_counts([row.pk for row in page.object_list])
    for row in page.object_list:
        row.direct, row.customer_count = (counts[row.pk]["direct"],
                                          counts[row.pk]["customers"])
    return render(request, "console/distribution/distributors.html", {
        "page": page, "statuses": DistributorStatus.choices, "status": status,
        "levels": list(Level.objects.order_by("rank")), "level_id": level_id, "q": q,
        "query": query_without_page(request),
    })


@require_POST
@staff_page(P + "add_distributor")
def distributor_assign(request):
    """Make a shopper (by phone or #id) a distributor, under a recruiter's invite code."""
    try:
        shopper = selectors.shopper_find(request.POST.get("shopper", ""))
        code = request.POST.get("recruiter", "").strip()
        recruiter = services.distributor_by_code(code) if code else None
        if code and recruiter is None:
            raise DistributionInvalid(fields={"recruiter": [_("No distributor has this "
                                                              "invite code.")]})
        distributor = actions.distributor_assign(
            user=request.user, shopper_id=shopper.pk,
            recruiter_id=recruiter.pk if recruiter else None)
    except DomainError as exc:
        messages.error(request, domain_error_text(exc))
        return redirect("console:distributors")
    messages.success(request, _("%(code)s is now a distributor.")
                     % {"code": distributor.invite_code})
    return redirect("console:distributor", distributor_id=distributor.pk)


@staff_page(P + "view_distributor")
def distributor_detail(request, distributor_id: int):
    """A distributor: status and actions, figures, team by depth, customers, history."""
    distributor = found_or_404(selectors.distributor_get, distributor_id=distributor_id)
    depth = _int_param(request.GET.get("depth"))
    depth = depth if depth and depth > 0 else None
    team = Paginator(selectors.team_of(distributor=distributor, depth=depth),
                     PAGE_SIZE).get_page(request.GET.get("team_page"))
    can_bindings = request.user.has_perm(P + "view_customerbinding")
    customers = changes = None
    if can_bindings:
        customers = Paginator(selectors.customers_of(distributor_id=distributor_id),
                              PAGE_SIZE).get_page(request.GET.get("customers_page"))
        changes = Paginator(selectors.binding_changes_of(distributor_id=distributor_id),
                            PAGE_SIZE).get_page(request.GET.get("changes_page"))
    return render(request, "console/distribution/distributor.html", {
        "distributor": distributor,
        "totals": tree.team_totals(distributor),
        "figures": levels.distributor_figures(distributor),
        "events": distributor.events.order_by("created_at", "id"),
        "level_changes": distributor.level_changes.select_related("from_level", "to_level")
        .order_by("created_at", "id"),
        "levels": list(Level.objects.order_by("rank")),
        "team": team, "depth": depth, "customers": customers, "changes": changes,
        "can_bindings": can_bindings,
        "team_query": query_without_page(request, "team_page"),
        "customers_query": query_without_page(request, "customers_page"),
        "changes_query": query_without_page(request, "changes_page"),
    })


@require_POST
@staff_page(P + "change_distributor")
def distributor_action(request, distributor_id: int):
    """approve, freeze, unfreeze, clear, level, recruiter: one engine action each."""
    found_or_404(selectors.distributor_get, distributor_id=distributor_id)
    action = request.POST.get("action", "")
    reason = request.POST.get("reason", "")
    done = {
        "approve": _("Application approved."), "freeze": _("Distributor frozen."),
        "unfreeze": _("Distributor unfrozen."), "clear": _("Distributor cleared."),
        "level": _("Level changed."), "recruiter": _("Recruiter changed."),
    }
    try:
        if action == "approve":
            actions.distributor_approve(user=request.user, distributor_id=distributor_id)
        elif action == "freeze":
            actions.distributor_freeze(user=request.user, distributor_id=distributor_id,
                                       reason=reason)
        elif action == "unfreeze":
            actions.distributor_unfreeze(user=request.user, distributor_id=distributor_id,
                                         reason=reason)
        elif action == "clear":
            actions.distributor_clear(user=request.user, distributor_id=distributor_id,
                                      reason=reason)
        elif action == "level":
            raw = request.POST.get("level", "")
            level_id = _int_param(raw)
            if raw and level_id is None:
                raise DistributionInvalid(fields={"level": [_("Choose a level.")]})
            actions.distributor_level_set(user=request.user, distributor_id=distributor_id,
                                          level_id=level_id, reason=reason)
        elif action == "recruiter":
            code = request.POST.get("recruiter", "").strip()
            recruiter = services.distributor_by_code(code) if code else None
            if code and recruiter is None:
                raise DistributionInvalid(fields={"recruiter": [_("No distributor has this "
                                                                  "invite code.")]})
            actions.distributor_recruiter_set(
                user=request.user, distributor_id=distributor_id,
                recruiter_id=recruiter.pk if recruiter else None, reason=reason)
        else:
            messages.error(request, _("Unknown action."))
            return redirect("console:distributor", distributor_id=distributor_id)
    except DomainError as exc:
        messages.error(request, domain_error_text(exc))
    else:
        messages.success(request, done[action])
    return redirect("console:distributor", distributor_id=distributor_id)


@staff_page(P + "view_customerbinding")
def binding_history(request, shopper_id: int):
    """Every change of one shopper's binding, oldest first."""
    history = Paginator(found_or_404(selectors.binding_history, shopper_id=shopper_id),
                        50).get_page(request.GET.get("page"))
    shopper = history.object_list[0].shopper if history.object_list else None
    return render(request, "console/distribution/binding_history.html", {
        "page": history, "shopper_id": shopper_id, "shopper": shopper,
    })


# ------------------------------------------------------------------ commission plans

# Where the editor shows each field's errors; any other key (a reward per head asked
# through the API, say) is shown with the plan's own.
PLAN_ERROR_FIELDS = ("name", "tiers", "rate_source", "rates_bp", "self_purchase",
                     "stage_bonuses", "team_reward", "payout_route", "lines", "plan")
STAGE_ROWS = 3
SAMPLE_ROWS = 3


def plan_field_errors(errors: dict) -> dict[str, list[str]]:
    placed = {field: list(errors.get(field, [])) for field in PLAN_ERROR_FIELDS}
    placed["plan"] += [message for field, messages_ in errors.items()
                       if field not in PLAN_ERROR_FIELDS for message in messages_]
    return placed


def plan_form_values(plan) -> dict:
    """A plan (saved, or the defaults) as the editor's form values."""
    rates = list(plan.rates_bp) + [0] * PLATFORM_MAX_TIERS
    stages = list(plan.stage_bonuses) + [{}] * STAGE_ROWS
    team = plan.team_reward or {}
    return {
        "name": plan.name, "tiers": plan.tiers, "rate_source": plan.rate_source,
        "rates": [percent_input(rate) for rate in rates[:PLATFORM_MAX_TIERS]],
        "self_purchase": plan.self_purchase, "payout_route": plan.payout_route,
        "stages": [{"sales": yuan_input(s["monthly_sales_fen"]) if s else "",
                    "bonus": percent_input(s["bonus_bp"]) if s else ""}
                   for s in stages[:STAGE_ROWS]],
        "team_on": bool(team), "team_rate": percent_input(team.get("rate_bp", 0)),
        "team_cap": yuan_input(team.get("cap_fen", 0)),
        "team_rank": team.get("min_level_rank", ""),
        "team_ack": bool(team.get("acknowledge_legal_risk")),
    }


def plan_form_read(post) -> tuple[dict, dict, FormErrors]:
    """The editor's POST as (the plan's data for the engine, the form values to show
    again, the errors of reading it). Rates beyond the plan's tiers are kept in the form
    but not sent."""
    errors = FormErrors()
    tiers = parse_int(post.get("tiers", ""), "tiers", errors, low=1,
                      high=PLATFORM_MAX_TIERS) or 1
    raw_rates = [post.get(f"rate_{tier}", "") for tier in range(1, PLATFORM_MAX_TIERS + 1)]
    rates = [parse_percent(raw, "rates_bp", errors) for raw in raw_rates]
    stages, raw_stages = [], []
    for index in range(STAGE_ROWS):
        sales_raw = post.get(f"stage_sales_{index}", "")
        bonus_raw = post.get(f"stage_bonus_{index}", "")
        raw_stages.append({"sales": sales_raw, "bonus": bonus_raw})
        if not (sales_raw.strip() or bonus_raw.strip()):
            continue
        sales = parse_yuan(sales_raw, "stage_bonuses", errors)
        bonus = parse_percent(bonus_raw, "stage_bonuses", errors)
        if sales is not None and bonus is not None:
            stages.append({"monthly_sales_fen": sales, "bonus_bp": bonus})
    team_on = post.get("team_on") == "on"
    team = {}
    if team_on:
        team = {
            "rate_bp": parse_percent(post.get("team_rate", ""), "team_reward", errors),
            "cap_fen": parse_yuan(post.get("team_cap", ""), "team_reward", errors),
            "min_level_rank": parse_int(post.get("team_rank", ""), "team_reward", errors,
                                        high=levels.MAX_RANK),
            "acknowledge_legal_risk": post.get("team_ack") == "on",
        }
    data = {
        "name": post.get("name", ""), "tiers": tiers,
        "rate_source": post.get("rate_source", RateSource.STATIC),
        "rates_bp": [rate or 0 for rate in rates[:tiers]],
        "self_purchase": post.get("self_purchase") == "on",
        "payout_route": post.get("payout_route", PayoutRoute.TRANSFER),
        "stage_bonuses": stages, "team_reward": team,
    }
    values = {
        "name": data["name"], "tiers": tiers, "rate_source": data["rate_source"],
        "rates": raw_rates, "self_purchase": data["self_purchase"],
        "payout_route": data["payout_route"], "stages": raw_stages, "team_on": team_on,
        "team_rate": post.get("team_rate", ""), "team_cap": post.get("team_cap", ""),
        "team_rank": post.get("team_rank", ""), "team_ack": post.get("team_ack") == "on",
    }
    return data, values, errors


def _default_plan():
    current = plans.active_plan()
    if current is not None:
        return current
    return plans.CommissionPlan(name=_("Standard"), tiers=2, rates_bp=[1000, 500])


def _sample_values(post=None) -> dict:
    post = post or {}
    rows = []
    for index in range(SAMPLE_ROWS):
        default_amount = "100" if index == 0 and not post else ""
        rows.append({"sku": post.get(f"sample_sku_{index}", ""),
                     "amount": post.get(f"sample_amount_{index}", default_amount),
                     "quantity": post.get(f"sample_qty_{index}", "1")})
    return {"rows": rows,
            "ranks": [post.get(f"sample_rank_{tier}", "")
                      for tier in range(1, PLATFORM_MAX_TIERS + 1)],
            "monthly_sales": post.get("sample_monthly_sales", "0")}


def _editor(request, *, plan, values, errors, status=200, limited=False):
    skus = (Sku.objects.filter(is_active=True, product__is_on_shelf=True)
            .select_related("product").order_by("product__title", "id")[:200])
    return render(request, "console/distribution/plan_edit.html", {
        "plan": plan, "form": values, "field_errors": plan_field_errors(errors),
        "can_save": (plan is not None and plan.status == PlanStatus.DRAFT
                     and request.user.has_perm(P + "change_commissionplan")),
        "can_create": request.user.has_perm(P + "add_commissionplan"),
        "can_activate": (plan is not None and plan.status == PlanStatus.DRAFT
                         and request.user.has_perm(P + "change_commissionplan")),
        "levels": list(Level.objects.order_by("rank")),
        "rate_sources": RateSource.choices, "payout_routes": PayoutRoute.choices,
        "tier_numbers": range(1, PLATFORM_MAX_TIERS + 1),
        "sample": _sample_values(request.POST if request.method == "POST" else None),
        "skus": skus, "cap": percent(DistributionSettings.current().commission_cap_bp),
        # What the mall's subscription plan allows: the rest is shown disabled, saying
        # which plan has it; `limited`: the save was refused for it (an upgrade link).
        "allowance": limits.editor_allowance(), "limited": limited,
    }, status=status)


@staff_page(P + "view_commissionplan")
def plan_list(request):
    """The active plan, drafts and retired versions."""
    rows = list(selectors.plan_list())
    for plan in rows:
        plan.rates = [percent(rate) for rate in plan.rates_bp]
    return render(request, "console/distribution/plans.html", {
        "active": next((p for p in rows if p.status == PlanStatus.ACTIVE), None),
        "drafts": [p for p in rows if p.status == PlanStatus.DRAFT],
        "retired": [p for p in rows if p.status == PlanStatus.RETIRED],
    })


@staff_page(P + "view_commissionplan")
@submitted_once
def plan_new(request):
    """A new draft: from ?from=<plan id>, the active plan, or the defaults; POST saves
    (once per form, however often it is posted)."""
    if request.method == "POST":
        _require(request, P + "add_commissionplan")
        data, values, errors = plan_form_read(request.POST)
        limited = False
        if not errors:
            try:
                plan = actions.plan_create(user=request.user, data=data)
            except DomainError as exc:
                errors = form_errors_of(exc, general="plan")
                limited = isinstance(exc, limits.PlanLimitReached)
            else:
                messages.success(request, _("Draft v%(version)d saved.")
                                 % {"version": plan.version})
                return redirect("console:distribution-plan", plan_id=plan.pk)
        return _editor(request, plan=None, values=values, errors=errors, status=400,
                       limited=limited)
    source_id = _int_param(request.GET.get("from"))
    source = found_or_404(selectors.plan_get, plan_id=source_id) if source_id else _default_plan()
    values = plan_form_values(source)
    if source_id:
        values["name"] = source.name
    return _editor(request, plan=None, values=values, errors={})


@staff_page(P + "view_commissionplan")
def plan_detail(request, plan_id: int):
    """A plan in the editor: a draft is saved in place; others are shown read-only."""
    plan = found_or_404(selectors.plan_get, plan_id=plan_id)
    if request.method == "POST":
        _require(request, P + "change_commissionplan")
        data, values, errors = plan_form_read(request.POST)
        limited = False
        if not errors:
            try:
                plan = actions.plan_update(user=request.user, plan_id=plan_id, data=data)
            except DomainError as exc:
                errors = form_errors_of(exc, general="plan")
                limited = isinstance(exc, limits.PlanLimitReached)
            else:
                messages.success(request, _("Draft v%(version)d saved.")
                                 % {"version": plan.version})
                return redirect("console:distribution-plan", plan_id=plan.pk)
        return _editor(request, plan=plan, values=values, errors=errors, status=400,
                       limited=limited)
    return _editor(request, plan=plan, values=plan_form_values(plan), errors={})


@require_POST
@staff_page(P + "view_commissionplan")
def plan_preview(request):
    """htmx: what each tier would earn on the sample cart under the plan as typed (not
    saved), or the plan's errors; the editor swaps it in on every change."""
    data, _values, errors = plan_form_read(request.POST)
    lines, sku_items = [], []
    for index in range(SAMPLE_ROWS):
        quantity = parse_int(request.POST.get(f"sample_qty_{index}", ""), "lines", errors,
                             low=1, high=9999) or 1
        sku_id = _int_param(request.POST.get(f"sample_sku_{index}"))
        if sku_id:
            sku_items.append((sku_id, quantity))
            continue
        if not request.POST.get(f"sample_amount_{index}", "").strip():
            continue
        amount = parse_yuan(request.POST.get(f"sample_amount_{index}", ""), "lines", errors)
        if amount is not None:
            lines.append({"paid_fen": amount * quantity, "quantity": quantity})
    ranks = [_int_param(request.POST.get(f"sample_rank_{tier}"), -1)
             for tier in range(1, PLATFORM_MAX_TIERS + 1)]
    monthly = parse_yuan(request.POST.get("sample_monthly_sales", ""), "lines", errors) or 0
    preview = None
    if not errors:
        try:
            lines += plans.preview_lines_for_skus(sku_items)
            if not lines:
                raise DistributionInvalid(fields={"lines": [_("Put something in the sample "
                                                              "cart.")]})
            preview = plans.plan_preview(data, lines=lines, level_ranks=ranks,
                                         monthly_sales_fen=monthly)
        except DomainError as exc:
            errors = form_errors_of(exc, general="plan")
    return render(request, "console/distribution/_plan_preview.html", {
        "preview": preview, "field_errors": plan_field_errors(errors), "oob": True,
    })


@require_POST
@staff_page(P + "change_commissionplan")
def plan_activate(request, plan_id: int):
    try:
        plan = actions.plan_activate(user=request.user, plan_id=plan_id)
    except DomainError as exc:
        flash_refusal(request, exc)
    else:
        messages.success(request, _("Plan v%(version)d is now active.")
                         % {"version": plan.version})
    return redirect("console:distribution-plans")


# ------------------------------------------------------------------ levels

CONDITION_FIELDS = [  # (key, in yuan?)
    ("monthly_gmv_fen", True), ("total_gmv_fen", True), ("own_purchases_fen", True),
    ("team_sales_fen", True), ("direct_recruits", False),
]


def level_form_values(level: Level | None) -> dict:
    rates = list(level.rates_bp if level else []) + [None] * PLATFORM_MAX_TIERS
    conditions = level.conditions if level else {}
    return {
        "name": level.name if level else "",
        "rank": level.rank if level else "",
        "rates": ["" if rate is None else percent_input(rate)
                  for rate in rates[:PLATFORM_MAX_TIERS]],
        "conditions": {key: ("" if key not in conditions else
                             yuan_input(conditions[key]) if money else conditions[key])
                       for key, money in CONDITION_FIELDS},
        "match_all": level.match_all if level else True,
        "demote_monthly": level.demote_monthly if level else False,
    }


def level_form_read(post) -> tuple[dict, dict, FormErrors]:
    errors = FormErrors()
    rates = []
    for tier in range(1, PLATFORM_MAX_TIERS + 1):
        raw = post.get(f"rate_{tier}", "").strip()
        if raw:
            rates.append(parse_percent(raw, "rates_bp", errors) or 0)
        else:
            break
    conditions = {}
    for key, money in CONDITION_FIELDS:
        raw = post.get(key, "").strip()
        if not raw:
            continue
        value = (parse_yuan(raw, "conditions", errors) if money
                 else parse_int(raw, "conditions", errors, high=levels.MAX_FIGURE))
        if value is not None:
            conditions[key] = value
    data = {
        "name": post.get("name", "").strip(),
        "rank": parse_int(post.get("rank", ""), "rank", errors, high=levels.MAX_RANK),
        "rates_bp": rates, "conditions": conditions,
        "match_all": post.get("match_all") == "on",
        "demote_monthly": post.get("demote_monthly") == "on",
    }
    if data["rank"] is None and "rank" not in errors:
        errors.add("rank", _("Give the level a rank."))
    values = {
        "name": data["name"], "rank": post.get("rank", ""),
        "rates": [post.get(f"rate_{tier}", "") for tier in range(1, PLATFORM_MAX_TIERS + 1)],
        "conditions": {key: post.get(key, "") for key, _m in CONDITION_FIELDS},
        "match_all": data["match_all"], "demote_monthly": data["demote_monthly"],
    }
    return data, values, errors


def _level_rows():
    rows = list(Level.objects.order_by("rank"))
    held = dict(selectors.level_holders())
    for level in rows:
        level.rates = [percent(rate) for rate in level.rates_bp]
        level.holders = held.get(level.pk, 0)
        level.condition_rows = [
            (key, money, level.conditions[key]) for key, money in CONDITION_FIELDS
            if key in level.conditions]
    return rows


def _level_form(request, *, level, values, errors, status=200):
    return render(request, "console/distribution/level_edit.html", {
        "level": level, "form": values, "errors": errors,
        "tier_numbers": range(1, PLATFORM_MAX_TIERS + 1),
        "condition_fields": CONDITION_FIELDS,
        "editable": request.user.has_perm(P + ("add_level" if level is None
                                               else "change_level")),
    }, status=status)


@staff_page(P + "view_level")
def level_list(request):
    return render(request, "console/distribution/levels.html", {"levels": _level_rows()})


@staff_page(P + "add_level")
def level_new(request):
    if request.method == "POST":
        data, values, errors = level_form_read(request.POST)
        if not errors:
            try:
                level = actions.level_create(user=request.user, data=data)
            except DomainError as exc:
                errors = form_errors_of(exc, general="level")
            else:
                messages.success(request, _("Level %(name)s created.") % {"name": level.name})
                return redirect("console:distribution-levels")
        return _level_form(request, level=None, values=values, errors=errors, status=400)
    return _level_form(request, level=None, values=level_form_values(None), errors={})


@staff_page(P + "view_level")
def level_edit(request, level_id: int):
    level = found_or_404(levels.level_get, level_id=level_id)
    if request.method == "POST":
        _require(request, P + "change_level")
        data, values, errors = level_form_read(request.POST)
        if not errors:
            try:
                level = actions.level_update(user=request.user, level_id=level_id, data=data)
            except DomainError as exc:
                errors = form_errors_of(exc, general="level")
            else:
                messages.success(request, _("Level %(name)s saved.") % {"name": level.name})
                return redirect("console:distribution-levels")
        return _level_form(request, level=level, values=values, errors=errors, status=400)
    return _level_form(request, level=level, values=level_form_values(level), errors={})


@require_POST
@staff_page(P + "delete_level")
def level_delete(request, level_id: int):
    try:
        actions.level_delete(user=request.user, level_id=level_id)
    except DomainError as exc:
        messages.error(request, domain_error_text(exc))
    else:
        messages.success(request, _("Level deleted."))
    return redirect("console:distribution-levels")


# ------------------------------------------------------------------ statements


def _month(value: str) -> dt.date | None:
    match = re.fullmatch(r"(\d{4})-(0[1-9]|1[0-2])", (value or "").strip())
    return dt.date(int(match[1]), int(match[2]), 1) if match else None


@staff_page(P + "view_statement")
def statement_list(request):
    """By month and status; ?status=in_review is finance's review queue."""
    month = _month(request.GET.get("month", ""))
    status = request.GET.get("status", "")
    status = status if status in StatementStatus.values else ""
    rows = selectors.statement_list(month=month, status=status or None)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "console/distribution/statements.html", {
        "page": page, "month": request.GET.get("month", "") if month else "",
        "status": status, "statuses": StatementStatus.choices,
        "waiting": selectors.statement_list(status=StatementStatus.IN_REVIEW).count(),
        "query": query_without_page(request),
        "can_decide": request.user.has_perm(P + "change_statement"),
    })


@staff_page(P + "view_statement")
def statement_detail(request, statement_id: int):
    statement = found_or_404(selectors.statement_get, statement_id=statement_id)
    commissions = Paginator(selectors.statement_commissions(statement=statement), 50
                            ).get_page(request.GET.get("page"))
    return render(request, "console/distribution/statement.html", {
        "statement": statement, "commissions": commissions,
        "reversals": selectors.statement_reversals(statement=statement),
        "events": statement.events.order_by("created_at", "id"),
        "can_decide": request.user.has_perm(P + "change_statement"),
    })


@require_POST
@staff_page(P + "change_statement")
def statement_decide(request, statement_id: int):
    """Finance approves a statement, or holds it with a reason."""
    action = request.POST.get("action", "")
    try:
        if action == "approve":
            actions.statement_approve(user=request.user, statement_id=statement_id)
            messages.success(request, _("Statement approved: the amount is withdrawable."))
        elif action == "hold":
            actions.statement_hold(user=request.user, statement_id=statement_id,
                                   reason=request.POST.get("reason", ""))
            messages.success(request, _("Statement held."))
        else:
            messages.error(request, _("Unknown action."))
    except DomainError as exc:
        messages.error(request, domain_error_text(exc))
    back = request.POST.get("next", "")
    if back.startswith(reverse("console:distribution-statements")):
        return redirect(back)
    return redirect("console:distribution-statement", statement_id=statement_id)


# ------------------------------------------------------------------ withdrawals


@staff_page(P + "view_withdrawal")
def withdrawal_list(request):
    status = request.GET.get("status", WithdrawalStatus.REVIEWING)
    status = status if status in [*WithdrawalStatus.values, "all"] else "all"
    rows = selectors.withdrawal_list(status=None if status == "all" else status)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "console/distribution/withdrawals.html", {
        "page": page, "status": status, "statuses": WithdrawalStatus.choices,
        "query": query_without_page(request),
        "can_decide": request.user.has_perm(P + "change_withdrawal"),
    })


@require_POST
@staff_page(P + "change_withdrawal")
def withdrawal_decide(request, withdrawal_id: int):
    action = request.POST.get("action", "")
    try:
        if action == "approve":
            actions.withdrawal_approve(user=request.user, withdrawal_id=withdrawal_id)
            messages.success(request, _("Withdrawal approved: the transfer is on its way."))
        elif action == "reject":
            actions.withdrawal_reject(user=request.user, withdrawal_id=withdrawal_id,
                                      reason=request.POST.get("reason", ""))
            messages.success(request, _("Withdrawal rejected: the money is back in the "
                                        "balance."))
        else:
            messages.error(request, _("Unknown action."))
    except DomainError as exc:
        messages.error(request, domain_error_text(exc))
    return redirect(reverse("console:distribution-withdrawals") + "?status=reviewing")


# ------------------------------------------------------------------ compliance


def _presentable(report: dict) -> dict:
    rules = report["rules"]
    plan = rules["plan"]
    if plan is not None:
        plan = {**plan, "rates": [percent(rate) for rate in plan["rates_bp"]]}
    levels_ = [{**level, "rates": [percent(rate) for rate in level["rates_bp"]]}
               for level in rules["levels"]]
    peak = max((row["count"] for row in report["tree"]["depth_histogram"]), default=0)
    histogram = [{**row, "width": row["count"] * 100 // peak if peak else 0}
                 for row in report["tree"]["depth_histogram"]]
    return {
        **report,
        "rules": {**rules, "plan": plan, "levels": levels_,
                  "cap": percent(rules["commission_cap_bp"]),
                  "sharing": percent(rules["profit_sharing_ratio_bp"])},
        "tree": {**report["tree"], "depth_histogram": histogram},
    }


@staff_page(P + "view_compliancealert")
def compliance_page(request):
    """The printable compliance report (the same figures as the staff API's
    /api/v1/console/distribution/compliance/report/)."""
    report = _presentable(compliance_report())
    open_by_kind = [(AlertKind(kind).label, count)
                    for kind, count in sorted(report["alerts"]["by_kind"].items())]
    return render(request, "console/distribution_compliance.html", {
        "report": report, "open_by_kind": open_by_kind,
    })


@staff_page(P + "view_compliancealert")
def alert_list(request):
    status = request.GET.get("status", "open")
    status = status if status in ("open", "resolved", "all") else "open"
    kind = request.GET.get("kind", "")
    kind = kind if kind in AlertKind.values else ""
    page = Paginator(compliance.alerts_list(status=status, kind=kind or None),
                     PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "console/distribution/alerts.html", {
        "page": page, "status": status, "kind": kind, "kinds": AlertKind.choices,
        "query": query_without_page(request),
        "can_resolve": request.user.has_perm(P + "change_compliancealert"),
    })


@require_POST
@staff_page(P + "change_compliancealert")
def alert_resolve(request, alert_id: int):
    try:
        actions.alert_resolve(user=request.user, alert_id=alert_id,
                              note=request.POST.get("note", ""))
    except DomainError as exc:
        messages.error(request, domain_error_text(exc))
    else:
        messages.success(request, _("Alert resolved."))
    return redirect("console:distribution-alerts")


# ------------------------------------------------------------------ settings

# How each setting is entered: "bool", "choice", "yuan", "percent" or "int".
SETTING_KINDS = {
    "enabled": "bool", "join_mode": "choice", "enroll_buyers": "bool",
    "binding_mode": "choice", "binding_days": "int", "protection_days": "int",
    "bind_new_customers_only": "bool", "commission_cap_bp": "percent",
    "commission_hold_days": "int", "settlement": "choice",
    "statement_review_from_fen": "yuan", "withhold_income_tax": "bool",
    "withdrawal_min_fen": "yuan", "withdrawal_fee_bp": "percent",
    "withdrawal_fee_min_fen": "yuan", "withdrawal_daily_count": "int",
    "withdrawal_daily_fen": "yuan", "withdrawal_review_from_fen": "yuan",
    "withdrawal_review_new_days": "int",
}
SETTING_CHOICES = {"join_mode": JoinMode.choices, "binding_mode": BindingMode.choices,
                   "settlement": SettlementMode.choices}
SETTING_GROUPS = [
    (_("Joining"), ["enabled", "join_mode", "enroll_buyers"]),
    (_("Customer binding"), ["binding_mode", "binding_days", "protection_days",
                             "bind_new_customers_only"]),
    (_("Commission and settlement"), ["commission_cap_bp", "commission_hold_days",
                                      "settlement", "statement_review_from_fen",
                                      "withhold_income_tax"]),
    (_("Withdrawals"), ["withdrawal_min_fen", "withdrawal_fee_bp", "withdrawal_fee_min_fen",
                        "withdrawal_daily_count", "withdrawal_daily_fen",
                        "withdrawal_review_from_fen", "withdrawal_review_new_days"]),
]
SETTING_LABELS = {
    "enabled": _("Run the distribution programme"),
    "join_mode": _("How shoppers join"),
    "enroll_buyers": _("Also enrol buyers after a paid order (open mode only)"),
    "binding_mode": _("Customer binding"),
    "binding_days": _("Binding lasts (days)"),
    "protection_days": _("Protection from re-binding (days)"),
    "bind_new_customers_only": _("Bind only customers who never ordered"),
    "commission_cap_bp": _("Commission cap (% of goods paid)"),
    "commission_hold_days": _("Days after receipt before commission is available"),
    "settlement": _("Settlement"),
    "statement_review_from_fen": _("Finance reviews statements from (¥)"),
    "withhold_income_tax": _("Withhold income tax on statements"),
    "withdrawal_min_fen": _("Smallest withdrawal (¥)"),
    "withdrawal_fee_bp": _("Withdrawal fee (%)"),
    "withdrawal_fee_min_fen": _("Minimum fee (¥)"),
    "withdrawal_daily_count": _("Withdrawals a day"),
    "withdrawal_daily_fen": _("Daily withdrawal limit (¥)"),
    "withdrawal_review_from_fen": _("Withdrawals reviewed from (¥)"),
    "withdrawal_review_new_days": _("Review every withdrawal of distributors newer than "
                                    "(days)"),
}


def _setting_value(name: str, value):
    kind = SETTING_KINDS[name]
    if kind == "yuan":
        return yuan_input(value)
    if kind == "percent":
        return percent_input(value)
    return value


def settings_form_read(post) -> tuple[dict, FormErrors]:
    errors, data = FormErrors(), {}
    for name, kind in SETTING_KINDS.items():
        raw = post.get(name, "")
        if kind == "bool":
            data[name] = raw == "on"
        elif kind == "choice":
            data[name] = raw
        elif kind == "yuan":
            data[name] = parse_yuan(raw, name, errors) if raw.strip() else None
        elif kind == "percent":
            data[name] = parse_percent(raw, name, errors) if raw.strip() else None
        else:
            data[name] = parse_int(raw, name, errors, high=program_settings.MAX_FEN)
        if data[name] is None and name not in errors:
            errors.add(name, _("Required."))
    return data, errors


@staff_page(P + "view_distributionsettings")
def settings_page(request):
    """The programme's rules: joining, binding, settlement, withdrawals."""
    errors: dict = {}
    status = 200
    if request.method == "POST":
        _require(request, P + "change_distributionsettings")
        data, errors = settings_form_read(request.POST)
        if not errors:
            try:
                actions.settings_update(user=request.user, data=data)
            except DomainError as exc:
                errors = form_errors_of(exc, general="settings")
            else:
                messages.success(request, _("Distribution settings saved."))
                return redirect("console:distribution-settings")
        status = 400
        values = {name: request.POST.get(name, "") for name in SETTING_KINDS}
        for name, kind in SETTING_KINDS.items():
            if kind == "bool":
                values[name] = request.POST.get(name) == "on"
    else:
        current = program_settings.settings_as_dict(DistributionSettings.current())
        values = {name: _setting_value(name, value) for name, value in current.items()}
    groups = [(title, [{"name": name, "kind": SETTING_KINDS[name],
                        "label": SETTING_LABELS[name], "value": values[name],
                        "choices": SETTING_CHOICES.get(name, ()),
                        "errors": errors.get(name, [])} for name in names])
              for title, names in SETTING_GROUPS]
    return render(request, "console/distribution/settings.html", {
        "groups": groups, "form_errors": errors.get("settings", []),
        "editable": request.user.has_perm(P + "change_distributionsettings"),
    }, status=status)
