"""The compliance monitor and report (DESIGN §6; 《禁止传销条例》 art. 7, WeChat's rules).

A pyramid scheme shows in the data before anyone complains: a tree that keeps getting
deeper, people recruiting dozens a day, distributors paid for their downline's sales rather
than their own, distributors buying through their own downline, commissions clawed back
after payout. `compliance_monitor` runs nightly in each mall and raises a ComplianceAlert
for each (one per kind, distributor and day: a re-run the same day adds nothing, and a
finding already raised is not raised again while its evidence is unchanged). Staff resolve
alerts; platform admins see the open ones of every mall (`manage.py compliance_report`).

`compliance_report` is what a merchant shows a regulator or WeChat: the rules in force, the
checks that hold by construction (verified on the data), the tree's shape, the open alerts
and the commission paid per tier.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.models import Count, F, Max, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from storefront.distribution import levels as levels_module
from storefront.distribution import plans
from storefront.distribution.commissions import SHANGHAI
from storefront.distribution.errors import (
    AlertNotFound,
    DistributionInvalid,
    IllegalDistributionTransition,
    PlanInvalid,
)
from storefront.distribution.models import (
    PLATFORM_MAX_TIERS,
    AlertKind,
    Commission,
    CommissionKind,
    CommissionReversal,
    ComplianceAlert,
    DistributionSettings,
    Distributor,
    DistributorStatus,
    JoinMode,
    Level,
    OrderAttribution,
)


@dataclass(frozen=True)
class Thresholds:
    """When the monitor speaks up. Defaults are deliberately cautious: an alert asks a
    person to look, it changes nothing."""

    max_depth: int = 10
    burst_recruits: int = 20  # more than this many recruits in 24 hours
    heavy_window_days: int = 90
    heavy_upper_share_pct: int = 70  # of commission from tiers 2-3
    heavy_min_recruits: int = 10
    heavy_own_sales_below_fen: int = 100_000
    heavy_min_commission_fen: int = 10_000
    ring_window_days: int = 7
    ring_share_pct: int = 50  # of the earner's attributed sales bought by their downline
    ring_min_orders: int = 2
    refund_window_days: int = 90
    refund_share_pct: int = 20  # of the commission earned, reversed after payout
    refund_min_fen: int = 5_000


DEFAULT_THRESHOLDS = Thresholds()


@dataclass
class Finding:
    kind: str
    distributor_id: int | None
    summary: str
    details: dict = field(default_factory=dict)


def local_day(now: dt.datetime) -> dt.date:
    return now.astimezone(SHANGHAI).date()


def _codes(ids) -> dict[int, str]:
    return dict(Distributor.objects.filter(pk__in=set(ids)).values_list("pk", "invite_code"))


def _with_open_alert(kind: str, ids) -> set[int]:
    return set(ComplianceAlert.objects.filter(
        kind=kind, distributor_id__in=set(ids), resolved_at__isnull=True,
    ).values_list("distributor_id", flat=True))


# ------------------------------------------------------------------ the checks


def check_tree_depth(now: dt.datetime, t: Thresholds) -> list[Finding]:
    """A branch deeper than `max_depth`: one finding per distributor at the first level
    beyond it (the head of the branch), raised again only when the branch gets deeper."""
    heads = list(Distributor.objects.filter(depth=t.max_depth + 1).only("id", "path",
                                                                        "invite_code"))
    raised: dict[int, int] = defaultdict(int)
    for pk, details in ComplianceAlert.objects.filter(
            kind=AlertKind.TREE_DEPTH, distributor_id__in=[h.pk for h in heads],
    ).values_list("distributor_id", "details"):
        raised[pk] = max(raised[pk], int(details.get("max_depth", 0)))
    findings = []
    for head in heads:
        branch = Distributor.objects.filter(path__startswith=head.path).aggregate(
            max_depth=Max("depth"), members=Count("id"))
        if head.pk in raised and branch["max_depth"] <= raised[head.pk]:
            continue
        findings.append(Finding(
            AlertKind.TREE_DEPTH, head.pk,
            _("The branch from %(code)s reaches depth %(depth)d, beyond %(limit)d levels "
              "(%(members)d distributors in it).") % {
                "code": head.invite_code, "depth": branch["max_depth"],
                "limit": t.max_depth, "members": branch["members"]},
            {"max_depth": branch["max_depth"], "threshold": t.max_depth,
             "members": branch["members"], "path": head.path},
        ))
    return findings


def check_recruitment_bursts(now: dt.datetime, t: Thresholds) -> list[Finding]:
    """More than `burst_recruits` distributors recruited by one in the last 24 hours."""
    since = now - dt.timedelta(hours=24)
    rows = list(Distributor.objects.filter(
        created_at__gte=since, created_at__lt=now, recruiter__isnull=False,
    ).values("recruiter_id").annotate(n=Count("id")).filter(n__gt=t.burst_recruits)
        .order_by("recruiter_id"))
    skip = _with_open_alert(AlertKind.RECRUITMENT_BURST, [r["recruiter_id"] for r in rows])
    codes = _codes(r["recruiter_id"] for r in rows)
    return [Finding(
        AlertKind.RECRUITMENT_BURST, row["recruiter_id"],
        _("%(code)s recruited %(count)d distributors in 24 hours (more than %(limit)d).")
        % {"code": codes[row["recruiter_id"]], "count": row["n"],
           "limit": t.burst_recruits},
        {"recruits": row["n"], "threshold": t.burst_recruits,
         "since": since.isoformat(), "until": now.isoformat()},
    ) for row in rows if row["recruiter_id"] not in skip]


def check_recruitment_heavy(now: dt.datetime, t: Thresholds) -> list[Finding]:
    """Paid mostly for the downline's sales (tiers 2-3), with many recruits and little
    selling of their own: the shape art. 7 describes."""
    since = now - dt.timedelta(days=t.heavy_window_days)
    net = F("amount_fen") - F("reversed_fen")
    rows = {row["distributor_id"]: row for row in Commission.objects.filter(
        kind=CommissionKind.SALE, earned_at__gte=since, earned_at__lt=now,
    ).values("distributor_id").annotate(
        total=Sum(net), upper=Coalesce(Sum(net, filter=Q(tier__gte=2)), 0),
    ).filter(total__gte=t.heavy_min_commission_fen)}
    candidates = {pk for pk, row in rows.items()
                  if row["upper"] * 100 >= row["total"] * t.heavy_upper_share_pct}
    recruits = dict(Distributor.objects.filter(
        recruiter_id__in=candidates, status=DistributorStatus.ACTIVE,
    ).values("recruiter_id").annotate(n=Count("id")).values_list("recruiter_id", "n"))
    own = dict(OrderAttribution.objects.filter(
        distributor_id__in=candidates, paid_at__gte=since, paid_at__lt=now,
    ).values("distributor_id").annotate(s=Sum("goods_paid_fen"))
        .values_list("distributor_id", "s"))
    flagged = sorted(pk for pk in candidates
                     if recruits.get(pk, 0) >= t.heavy_min_recruits
                     and own.get(pk, 0) < t.heavy_own_sales_below_fen)
    skip = _with_open_alert(AlertKind.RECRUITMENT_HEAVY, flagged)
    codes = _codes(flagged)
    findings = []
    for pk in flagged:
        if pk in skip:
            continue
        row = rows[pk]
        share = row["upper"] * 100 // row["total"]
        findings.append(Finding(
            AlertKind.RECRUITMENT_HEAVY, pk,
            _("%(code)s earned %(share)d%% of their commission from tiers 2-3, with "
              "%(recruits)d recruits and %(own)d fen of sales of their own in %(days)d days.")
            % {"code": codes[pk], "share": share, "recruits": recruits.get(pk, 0),
               "own": own.get(pk, 0), "days": t.heavy_window_days},
            {"commission_fen": row["total"], "upper_tiers_fen": row["upper"],
             "upper_share_pct": share, "direct_recruits": recruits.get(pk, 0),
             "own_sales_fen": own.get(pk, 0), "window_days": t.heavy_window_days},
        ))
    return findings


_RING_SQL = """
    SELECT a.distributor_id, o.number, b.id, a.goods_paid_fen,
           CASE WHEN starts_with(b.path, e.path) THEN 'downline' ELSE 'upline' END,
           coalesce((SELECT sum(c.amount_fen) FROM distribution_commission c
                     WHERE c.order_id = a.order_id AND c.distributor_id = b.id), 0)
    FROM distribution_orderattribution a
    JOIN distribution_distributor e ON e.id = a.distributor_id
    JOIN orders_order o ON o.id = a.order_id
    JOIN distribution_distributor b ON b.shopper_id = o.shopper_id
    WHERE a.paid_at >= %s AND a.paid_at < %s AND NOT a.self_purchase AND b.id <> e.id
      AND (starts_with(b.path, e.path) OR starts_with(e.path, b.path))
    ORDER BY a.distributor_id, a.paid_at, o.number
"""


def _ring_orders(since: dt.datetime, now: dt.datetime) -> dict[int, list[dict]]:
    """Orders attributed to a distributor whose buyer is in that distributor's downline,
    or above them in the tree (the buyer then earns an upper tier on their own order)."""
    by_earner: dict[int, list[dict]] = defaultdict(list)
    with connection.cursor() as cursor:
        cursor.execute(_RING_SQL, [since, now])
        for earner, number, buyer, goods, direction, buyer_fen in cursor.fetchall():
            by_earner[earner].append({
                "number": number, "buyer_distributor_id": buyer, "goods_fen": goods,
                "direction": direction, "buyer_commission_fen": int(buyer_fen),
            })
    return by_earner


def check_self_dealing(now: dt.datetime, t: Thresholds) -> list[Finding]:
    """Self-dealing rings: a tier-1 distributor whose sales come mostly from their own
    downline buying, or any order whose buyer earns an upper tier of it."""
    since = now - dt.timedelta(days=t.ring_window_days)
    ring = _ring_orders(since, now)
    known: dict[int, set[str]] = defaultdict(set)
    for pk, details in ComplianceAlert.objects.filter(
            kind=AlertKind.SELF_DEALING, distributor_id__in=list(ring),
    ).values_list("distributor_id", "details"):
        known[pk].update(order["number"] for order in details.get("orders", []))
    totals = dict(OrderAttribution.objects.filter(
        distributor_id__in=list(ring), paid_at__gte=since, paid_at__lt=now,
    ).values("distributor_id").annotate(s=Sum("goods_paid_fen"))
        .values_list("distributor_id", "s"))
    codes = _codes(ring)
    findings = []
    for earner, orders in sorted(ring.items()):
        paid_back = [o for o in orders if o["direction"] == "upline"
                     and o["buyer_commission_fen"] > 0]
        downline = [o for o in orders if o["direction"] == "downline"]
        downline_fen = sum(o["goods_fen"] for o in downline)
        share = downline_fen * 100 // totals[earner] if totals.get(earner) else 0
        heavy = len(downline) >= t.ring_min_orders and share >= t.ring_share_pct
        evidence = paid_back + (downline if heavy else [])
        if not evidence or {o["number"] for o in evidence} <= known[earner]:
            continue
        findings.append(Finding(
            AlertKind.SELF_DEALING, earner,
            _("%(code)s: %(orders)d order(s) in %(days)d days bought inside their own line "
              "(%(share)d%% of their sales from their downline; %(back)d order(s) paying "
              "commission to the buyer).") % {
                "code": codes[earner], "orders": len(evidence), "days": t.ring_window_days,
                "share": share, "back": len(paid_back)},
            {"orders": evidence, "downline_share_pct": share,
             "attributed_fen": totals.get(earner, 0), "window_days": t.ring_window_days},
        ))
    return findings


def check_refund_after_payout(now: dt.datetime, t: Thresholds) -> list[Finding]:
    """Commissions reversed after they were paid out, above a share of what was earned:
    buying, cashing the commission, then refunding."""
    since = now - dt.timedelta(days=t.refund_window_days)
    window = Q(created_at__gte=since, created_at__lt=now)
    after = dict(CommissionReversal.objects.filter(
        window, commission__settled_at__isnull=False,
        created_at__gte=F("commission__settled_at"),
    ).values("distributor_id").annotate(s=Sum("amount_fen"))
        .values_list("distributor_id", "s"))
    earned = dict(Commission.objects.filter(
        window, distributor_id__in=list(after),
    ).values("distributor_id").annotate(s=Sum("amount_fen"))
        .values_list("distributor_id", "s"))
    flagged = sorted(pk for pk, back in after.items()
                     if back >= t.refund_min_fen
                     and back * 100 > earned.get(pk, 0) * t.refund_share_pct)
    skip = _with_open_alert(AlertKind.REFUND_AFTER_PAYOUT, flagged)
    codes = _codes(flagged)
    findings = []
    for pk in flagged:
        if pk in skip:
            continue
        back, total = after[pk], earned.get(pk, 0)
        share = back * 100 // total if total else 100
        findings.append(Finding(
            AlertKind.REFUND_AFTER_PAYOUT, pk,
            _("%(code)s had %(back)d fen of paid-out commission reversed by refunds in "
              "%(days)d days (%(share)d%% of the %(earned)d fen earned).") % {
                "code": codes[pk], "back": back, "days": t.refund_window_days,
                "share": share, "earned": total},
            {"reversed_after_payout_fen": back, "earned_fen": total, "share_pct": share,
             "threshold_pct": t.refund_share_pct, "window_days": t.refund_window_days},
        ))
    return findings


CHECKS = (check_tree_depth, check_recruitment_bursts, check_recruitment_heavy,
          check_self_dealing, check_refund_after_payout)


def compliance_monitor(*, now: dt.datetime | None = None,
                       thresholds: Thresholds = DEFAULT_THRESHOLDS) -> dict[str, int]:
    """Run every check and keep what they find; answers the alerts raised per kind.
    Safe to run twice: an alert is unique per kind, distributor and day."""
    now = now or timezone.now()
    day = local_day(now)
    raised: dict[str, int] = defaultdict(int)
    for check in CHECKS:
        for finding in check(now, thresholds):
            _, created = ComplianceAlert.objects.get_or_create(
                kind=finding.kind, distributor_id=finding.distributor_id, day=day,
                defaults={"summary": finding.summary[:300], "details": finding.details},
            )
            raised[finding.kind] += int(created)
    return dict(raised)


# ------------------------------------------------------------------ staff


def alerts_list(*, status: str = "open", kind: str | None = None):
    alerts = ComplianceAlert.objects.select_related("distributor")
    if status == "open":
        alerts = alerts.filter(resolved_at__isnull=True)
    elif status == "resolved":
        alerts = alerts.filter(resolved_at__isnull=False)
    if kind:
        alerts = alerts.filter(kind=kind)
    return alerts.order_by("-day", "-id")


def alerts_open_count() -> dict:
    """What the console's badge and the platform admin read."""
    by_kind = dict(ComplianceAlert.objects.filter(resolved_at__isnull=True)
                   .values("kind").annotate(n=Count("id")).values_list("kind", "n"))
    return {"open": sum(by_kind.values()), "by_kind": by_kind}


def alert_resolve(*, alert_id: int, staff_id: int, note: str) -> ComplianceAlert:
    """Staff looked at an alert and say what they found; kept in its details."""
    note = (note or "").strip()
    if not note or len(note) > 500:
        raise DistributionInvalid(fields={"note": [_("Say what you found (at most 500 "
                                                     "characters).")]})
    with transaction.atomic():
        alert = ComplianceAlert.objects.select_for_update().filter(pk=alert_id).first()
        if alert is None:
            raise AlertNotFound()
        if alert.resolved_at is not None:
            raise IllegalDistributionTransition(_("This alert was resolved already."),
                                                fields={"status": ["resolved"]})
        alert.resolved_at = timezone.now()
        alert.resolved_by_id = staff_id
        alert.details = {**alert.details, "resolution": {
            "note": note, "staff_id": staff_id, "at": alert.resolved_at.isoformat()}}
        alert.save(update_fields=["resolved_at", "resolved_by_id", "details"])
    return alert


# ------------------------------------------------------------------ the report


def _plan_rules(rules: DistributionSettings) -> dict:
    plan = plans.active_plan()
    level_rows = [{"name": lv.name, "rank": lv.rank, "rates_bp": lv.rates_bp,
                   "conditions": lv.conditions, "match_all": lv.match_all,
                   "demote_monthly": lv.demote_monthly} for lv in Level.objects.all()]
    base = {"platform_max_tiers": PLATFORM_MAX_TIERS,
            "commission_cap_bp": rules.commission_cap_bp,
            "profit_sharing_ratio_bp": plans.profit_sharing_ratio_bp(),
            "join_mode": rules.join_mode, "enroll_buyers": rules.enroll_buyers,
            "levels": level_rows}
    if plan is None:
        return {**base, "plan": None}
    team = plan.team_reward or {}
    return {**base, "plan": {
        "version": plan.version, "name": plan.name, "tiers": plan.tiers,
        "rate_source": plan.rate_source, "rates_bp": plan.rates_bp,
        "self_purchase": plan.self_purchase, "stage_bonuses": plan.stage_bonuses,
        "payout_route": plan.payout_route, "activated_at": plan.activated_at,
        "team_reward": {"opted_in": bool(team), "rate_bp": team.get("rate_bp", 0),
                        "cap_fen": team.get("cap_fen", 0),
                        "min_level_rank": team.get("min_level_rank")},
    }}


def _check(key: str, status: str, title: str, detail: str) -> dict:
    return {"key": key, "status": status, "title": title, "detail": detail}


def _checks(rules: DistributionSettings) -> list[dict]:
    """Each rule of art. 7 the engine enforces, verified again on this mall's data."""
    unpaid = Commission.objects.filter(order__paid_at__isnull=True).count()
    bad_levels = [lv.name for lv in Level.objects.all()
                  if not levels_module.recruit_rule_holds(lv)]
    joined = dict(Distributor.objects.values("joined_via").annotate(n=Count("id"))
                  .values_list("joined_via", "n"))
    plan = plans.active_plan()
    problems: list[str] = []
    if plan is not None:
        try:
            plans.plan_validate(plans.plan_fields(plan))
        except PlanInvalid as error:
            problems = [m for messages in error.fields.values() for m in messages]
    return [
        _check("no_per_head_reward", "ok" if not unpaid else "fail",
               _("No reward per head"),
               _("Commission is paid only on order lines of paid orders; a plan paying per "
                 "recruit or charging an entry fee cannot be saved.") if not unpaid else
               _("%(count)d commission(s) are not tied to a paid order.") % {"count": unpaid}),
        _check("joining_free",
               "ok" if not rules.enroll_buyers or rules.join_mode == JoinMode.OPEN else "fail",
               _("Joining is free"),
               _("Joining never requires a payment or a purchase (join mode: %(mode)s; "
                 "enrolled after a purchase: %(bought)d of %(total)d distributors).") % {
                   "mode": rules.join_mode, "bought": joined.get("purchase", 0),
                   "total": sum(joined.values())}),
        _check("recruit_conditions", "ok" if not bad_levels else "fail",
               _("Recruit counts only with sales"),
               _("Every level counting recruits also requires sales.") if not bad_levels
               else _("Levels counting recruits without a sales condition: %(names)s "
                      "(they promote nobody until fixed).") % {"names": ", ".join(bad_levels)}),
        _check("tiers_capped", "ok", _("At most %(tiers)d tiers") % {"tiers": PLATFORM_MAX_TIERS},
               _("The active plan pays %(tiers)s tier(s).")
               % {"tiers": plan.tiers if plan else 0}),
        _check("commission_cap", "ok" if not problems else "fail", _("Commission capped"),
               "; ".join(problems) or _("An order's commissions never pass %(cap)s%% of what "
                                        "the buyer paid for its goods.")
               % {"cap": f"{rules.commission_cap_bp / 100:g}"}),
        _check("team_reward", "warning" if plan and plan.team_reward else "ok",
               _("Team reward"),
               _("Opted in: a reward on team sales is a legal risk, capped at %(cap)d fen "
                 "per order.") % {"cap": plan.team_reward.get("cap_fen", 0)}
               if plan and plan.team_reward else _("No reward on team sales.")),
    ]


def tree_statistics() -> dict:
    by_status = dict(Distributor.objects.values("status").annotate(n=Count("id"))
                     .values_list("status", "n"))
    histogram = list(Distributor.objects.values("depth").annotate(count=Count("id"))
                     .order_by("depth"))
    return {
        "distributors": sum(by_status.values()),
        "by_status": {status: by_status.get(status, 0) for status in DistributorStatus.values},
        "max_depth": max((row["depth"] for row in histogram), default=0),
        "depth_histogram": histogram,
    }


def commission_by_tier() -> list[dict]:
    """Commission ever accrued per tier (and team reward), with what refunds took back."""
    rows = {(row["kind"], row["tier"]): row for row in Commission.objects.values(
        "kind", "tier").annotate(count=Count("id"), amount_fen=Sum("amount_fen"),
                                 reversed_fen=Sum("reversed_fen"))}
    keys = [(CommissionKind.SALE.value, tier) for tier in range(1, PLATFORM_MAX_TIERS + 1)]
    keys += sorted(key for key in rows if key not in keys)
    table = []
    for kind, tier in keys:
        row = rows.get((kind, tier), {})
        amount, back = row.get("amount_fen") or 0, row.get("reversed_fen") or 0
        table.append({"kind": kind, "tier": tier, "count": row.get("count", 0),
                      "amount_fen": amount, "reversed_fen": back, "net_fen": amount - back})
    return table


def compliance_report(*, alert_limit: int = 200) -> dict:
    """Everything a merchant shows to prove the programme is distribution, not a pyramid."""
    rules = DistributionSettings.current()
    return {
        "generated_at": timezone.now(),
        "rules": _plan_rules(rules),
        "checks": _checks(rules),
        "tree": tree_statistics(),
        "alerts": {**alerts_open_count(),
                   "items": list(alerts_list(status="open")[:alert_limit])},
        "commission_by_tier": commission_by_tier(),
    }


# ------------------------------------------------------------------ platform admins


@dataclass(frozen=True)
class MallAlerts:
    slug: str
    name: str
    schema_name: str
    open: int
    by_kind: dict
    alerts: list


def open_alerts_of_every_mall(*, per_mall: int = 20, schema: str | None = None,
                              ) -> list[MallAlerts]:
    """The open alerts of each mall (or of one), for platform admins: a report that
    iterates the tenants explicitly, one schema at a time (DESIGN §3)."""
    from django_tenants.utils import schema_context

    from tenants.models import Merchant

    malls = Merchant.objects.exclude(schema_name="public").order_by("slug")
    if schema is not None:
        malls = malls.filter(schema_name=schema)
    found = []
    for mall in malls:
        with schema_context(mall.schema_name):
            counts = alerts_open_count()
            alerts = [{"id": a.pk, "kind": a.kind, "day": a.day, "summary": a.summary}
                      for a in alerts_list(status="open")[:per_mall]]
        found.append(MallAlerts(slug=mall.slug, name=mall.name, schema_name=mall.schema_name,
                                open=counts["open"], by_kind=counts["by_kind"],
                                alerts=alerts))
    return found
