"""What the current mall's plan allows, in one place (issue 11).

Every limit is read from the plan row of `connection.tenant.plan_id`, once per call (the
tenant object a request carries may be older than a plan change). A refusal is a
`PlanLimitReached`: a 409 that says what the limit is and that upgrading lifts it, with the
console billing page as `upgrade_url`.

Counting then inserting races (two creations both see one free slot), so the checks of a
countable limit (products, staff seats) run under a per-mall transaction advisory lock,
taken only when the plan has a limit at all.

`plan_limits_enforce` brings a mall back within a plan after a downgrade; `plan_usage` says
how much of each limit a mall uses. Both take the merchant and switch to its schema.
"""

from __future__ import annotations

import django.dispatch
from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tenants.utils import schema_context, tenant_context

from billing.models import PLATFORM_MAX_TIERS, MarketingPlugin, Plan
from core.errors import Conflict

# The console's billing page (URL name console:settings-billing), where a plan is upgraded.
UPGRADE_PATH = "/console/settings/billing/"

# pg_advisory_xact_lock(key, hashtext(current_schema())): one lock per limit and mall.
_LOCK_KEYS = {"products": 0x706C5F70, "staff_seats": 0x706C5F73, "domains": 0x706C5F64}

# Which commission-plan field needs which plugin (the editor and the checks share it).
PLUGIN_FIELDS = {
    MarketingPlugin.LEVEL_RATES: "rate_source",
    MarketingPlugin.STAGE_BONUS: "stage_bonuses",
    MarketingPlugin.TEAM_REWARD: "team_reward",
}

# Sent after plan_limits_enforce changed something, inside its transaction and the mall's
# schema: the console writes its audit row from it (billing may not import the console).
plan_limits_enforced = django.dispatch.Signal()  # kwargs: merchant, actor, action, target, detail


def upgrade_url() -> str:
    try:
        return reverse("console:settings-billing")
    except NoReverseMatch:
        return UPGRADE_PATH


class PlanLimitReached(Conflict):
    """A refusal because the mall's plan does not allow it; upgrading the plan lifts it."""

    code = "plan_limit"
    default_message = "Your plan does not allow this. Upgrade the plan to lift the limit."

    def __init__(self, message: str | None = None, *, fields=None, limit: str = ""):
        super().__init__(message, fields=fields)
        self.limit = limit
        self.upgrade_url = upgrade_url()


def current_plan() -> Plan | None:
    """The plan of the mall whose schema is active (None outside a mall): one query."""
    plan_id = getattr(getattr(connection, "tenant", None), "plan_id", None)
    if not plan_id:
        return None
    return Plan.objects.filter(pk=plan_id).first()


def limit_lock(name: str) -> None:
    """Serialise the count-then-insert of one limit in this mall until the transaction
    ends. Must run inside a transaction."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, hashtext(current_schema()))",
                       [_LOCK_KEYS[name]])


def plan_names_with(attribute: str, value=True, *, plans=None) -> list[str]:
    """The names of the plans (all, or `plans`) that have `attribute`: a plugin code for
    marketing_plugins, at least `value` tiers for max_distribution_tiers."""
    names = []
    for plan in plans if plans is not None else Plan.objects.order_by("sort_order"):
        if attribute == "marketing_plugins":
            has = plan.includes(value)
        elif attribute == "max_distribution_tiers":
            has = plan.max_distribution_tiers >= value
        else:
            has = getattr(plan, attribute) == value
        if has:
            names.append(plan.name)
    return names


def _upgrade_hint(names: list[str]) -> str:
    if names:
        return _("Upgrade to %(plans)s to use it.") % {"plans": " / ".join(names)}
    return _("Upgrade the plan to lift the limit.")


# --- products ------------------------------------------------------------------------------


def product_slots_check(adding: int = 1, *, error=None) -> None:
    """Refuse adding `adding` products past the plan's max_products (with `error`, a
    PlanLimitReached subclass of the caller's); under the products lock when there is a
    limit. Call inside the creation's transaction."""
    plan = current_plan()
    if plan is None or not plan.max_products:
        return
    limit_lock("products")
    Product = apps.get_model("catalog", "Product")
    count = Product.objects.count()
    if not plan.allows_products(count + adding):
        raise (error or PlanLimitReached)(
            _("Your plan (%(plan)s) allows %(limit)d products and the mall has %(count)d. "
              "Upgrade the plan to add more.")
            % {"plan": plan.name, "limit": plan.max_products, "count": count},
            limit="products",
        )


# --- staff seats ---------------------------------------------------------------------------


def staff_seat_limit(plan: Plan | None = None) -> int | None:
    """The plan's staff seats, owner included; None when unlimited (max_staff 0)."""
    plan = plan if plan is not None else current_plan()
    if plan is None or not plan.max_staff:
        return None
    return plan.max_staff


def staff_seats_check(seats_taken) -> None:
    """Refuse one more seat when `seats_taken()` (counted after the lock) fills the plan."""
    limit = staff_seat_limit()
    if limit is None:
        return
    limit_lock("staff_seats")
    if seats_taken() >= limit:
        raise PlanLimitReached(
            _("Your plan has %(limit)d staff seats and all are taken. Upgrade the plan or "
              "remove someone first.") % {"limit": limit},
            limit="staff",
        )


def _open_invitations():
    StaffInvitation = apps.get_model("merchant_console", "StaffInvitation")
    return StaffInvitation.objects.filter(accepted_at=None, revoked_at=None,
                                          expires_at__gt=timezone.now())


def staff_seats_taken() -> int:
    """Active staff (the owner counts) plus open invitations, which hold their seat."""
    staff = get_user_model().objects.filter(is_staff=True, is_active=True).count()
    return staff + _open_invitations().count()


# --- commission plans ----------------------------------------------------------------------


def plan_features_used(fields: dict) -> dict[str, bool]:
    """Which plugins a commission plan's fields use."""
    return {
        MarketingPlugin.LEVEL_RATES: fields.get("rate_source") == "levels",
        MarketingPlugin.STAGE_BONUS: bool(fields.get("stage_bonuses")),
        MarketingPlugin.TEAM_REWARD: bool(fields.get("team_reward")),
    }


def commission_plan_check(fields: dict) -> None:
    """Refuse a commission plan with more tiers than the plan allows or a plugin it lacks;
    each refusal names its field, what the plan allows and which plan has it."""
    plan = current_plan()
    if plan is None:
        return
    errors: dict[str, list[str]] = {}
    tiers = fields.get("tiers")
    if isinstance(tiers, int) and tiers > plan.max_distribution_tiers:
        errors["tiers"] = [
            _("Your plan (%(plan)s) pays at most %(limit)d tier(s); this plan has %(tiers)d.")
            % {"plan": plan.name, "limit": plan.max_distribution_tiers, "tiers": tiers}
            + " " + _upgrade_hint(plan_names_with("max_distribution_tiers", tiers))
        ]
    for plugin, used in plan_features_used(fields).items():
        if used and not plan.includes(plugin):
            errors[PLUGIN_FIELDS[plugin]] = [
                _("%(feature)s is not part of your plan (%(plan)s).")
                % {"feature": _(MarketingPlugin(plugin).label), "plan": plan.name}
                + " " + _upgrade_hint(plan_names_with("marketing_plugins", plugin))
            ]
    if errors:
        raise PlanLimitReached(
            _("This commission plan uses more than your plan (%(plan)s) allows. Upgrade the "
              "plan or change the fields marked.") % {"plan": plan.name},
            fields=errors, limit="distribution",
        )


def editor_allowance() -> dict:
    """What the commission plan editor may offer: tiers, and per plugin whether the plan
    has it and which plans do (to say so where it is disabled). One query."""
    plan_id = getattr(getattr(connection, "tenant", None), "plan_id", None)
    every = list(Plan.objects.order_by("sort_order"))
    plan = next((p for p in every if p.pk == plan_id), None)
    plugins = {
        code: {"allowed": plan is None or plan.includes(code),
               "plans": " / ".join(plan_names_with("marketing_plugins", code, plans=every))}
        for code in MarketingPlugin.values
    }
    return {"plan_name": plan.name if plan else "",
            "max_tiers": plan.max_distribution_tiers if plan else PLATFORM_MAX_TIERS,
            "tier_plans": " / ".join(plan_names_with("max_distribution_tiers",
                                                     PLATFORM_MAX_TIERS, plans=every)),
            "plugins": plugins, "upgrade_url": upgrade_url()}


def clamp_commission_fields(fields: dict, plan: Plan, *, base_rates=()) -> dict:
    """A commission plan's fields cut down to what `plan` allows: fewer tiers (and their
    rates), static rates instead of levels (`base_rates`: the lowest level's, when the plan
    had no static ones), no stage bonus or team reward."""
    clamped = dict(fields)
    tiers = min(fields["tiers"], plan.max_distribution_tiers)
    clamped["tiers"] = tiers
    clamped["rates_bp"] = list(fields.get("rates_bp") or [])[:tiers]
    if fields.get("rate_source") == "levels" and not plan.includes(MarketingPlugin.LEVEL_RATES):
        clamped["rate_source"] = "static"
        if not any(clamped["rates_bp"]):
            # A plan by level carries no static rates: everyone earns the entry level's.
            clamped["rates_bp"] = list(base_rates)[:tiers]
    if not plan.includes(MarketingPlugin.STAGE_BONUS):
        clamped["stage_bonuses"] = []
    if not plan.includes(MarketingPlugin.TEAM_REWARD):
        clamped["team_reward"] = {}
    return clamped


# --- custom domains ------------------------------------------------------------------------


def custom_domain_check(plan: Plan | None = None) -> None:
    plan = plan if plan is not None else current_plan()
    if plan is not None and not plan.custom_domain:
        raise PlanLimitReached(
            _("Your plan (%(plan)s) does not include a domain of your own.")
            % {"plan": plan.name} + " " + _upgrade_hint(plan_names_with("custom_domain")),
            limit="custom_domain",
        )


def platform_host_of(merchant) -> str:
    return f"{merchant.slug}.{settings.PLATFORM_HOST}"


def custom_domains_of(merchant):
    """The merchant's own domains: every Domain row but its platform host."""
    Domain = apps.get_model("tenants", "Domain")
    return Domain.objects.filter(tenant=merchant, is_primary=False).exclude(
        domain=platform_host_of(merchant)).order_by("domain")


# --- after a plan change, and usage --------------------------------------------------------


# Domain apps that keep something a plan limits (storefront.distribution: the active
# commission plan) register a function (plan=, actor=) -> list of changes made, each
# {"action", "target", "detail"}; billing cannot import them (they sit above it).
_enforcers: list = []


def register_limits_enforcer(enforcer) -> None:
    if enforcer not in _enforcers:
        _enforcers.append(enforcer)


def plan_limits_enforce(merchant, actor=None) -> list[dict]:
    """Bring the mall within its (new) plan after a plan change; safe to call again, and
    from any schema (it switches to the mall's).

    An active commission plan over the plan is replaced by a clamped copy, activated
    through the distribution services (the old version stays, retired); products, staff
    and domains over the limits stay, and new ones are refused until under the limit.
    Each change is recorded (plan_limits_enforced: the console's audit log); answers them."""
    merchant.refresh_from_db(fields=["plan"])
    plan = merchant.plan
    done: list[dict] = []
    # tenant_context, not schema_context: the checks read connection.tenant's plan.
    with tenant_context(merchant), transaction.atomic():
        for enforcer in _enforcers:
            for change in enforcer(plan=plan, actor=actor) or []:
                plan_limits_enforced.send(sender=Plan, merchant=merchant, actor=actor,
                                          **change)
                done.append(change)
    return done


def plan_usage(merchant) -> dict[str, dict]:
    """Per limit, what the mall uses and what its plan allows (None: unlimited), for the
    billing page: products, staff seats, tiers of the active plan, plugins, domains."""
    merchant.refresh_from_db(fields=["plan"])
    plan = merchant.plan
    with schema_context(merchant.schema_name):
        Product = apps.get_model("catalog", "Product")
        CommissionPlan = apps.get_model("distribution", "CommissionPlan")
        active = CommissionPlan.objects.filter(status="active").first()
        used_plugins = (plan_features_used({"rate_source": active.rate_source,
                                            "stage_bonuses": active.stage_bonuses,
                                            "team_reward": active.team_reward})
                        if active else {})
        return {
            "products": {"used": Product.objects.count(),
                         "allowed": plan.max_products or None},
            "staff_seats": {"used": staff_seats_taken(), "allowed": plan.max_staff or None},
            "distribution_tiers": {"used": active.tiers if active else 0,
                                   "allowed": plan.max_distribution_tiers},
            "marketing_plugins": {
                "used": sorted(code for code, used in used_plugins.items() if used),
                "allowed": sorted(plan.marketing_plugins or []),
            },
            "custom_domains": {"used": custom_domains_of(merchant).count(),
                               "allowed": None if plan.custom_domain else 0},
        }
