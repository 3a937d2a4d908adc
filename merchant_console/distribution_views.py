"""The console's printable compliance report (DESIGN §6, 《禁止传销条例》 art. 7): what a
merchant shows WeChat or a regulator. The same figures as the staff API's
/api/v1/console/distribution/compliance/report/."""

from django.contrib.auth.decorators import login_required, permission_required
from django.shortcuts import render

from storefront.distribution.compliance import compliance_report
from storefront.distribution.models import AlertKind


def percent(bp: int) -> str:
    """1250 basis points -> "12.5%" (integers only)."""
    whole, rest = divmod(int(bp), 100)
    return f"{whole}%" if not rest else f"{whole}.{rest:02d}".rstrip("0") + "%"


def _presentable(report: dict) -> dict:
    rules = report["rules"]
    plan = rules["plan"]
    if plan is not None:
        plan = {**plan, "rates": [percent(rate) for rate in plan["rates_bp"]]}
    levels = [{**level, "rates": [percent(rate) for rate in level["rates_bp"]]}
              for level in rules["levels"]]
    peak = max((row["count"] for row in report["tree"]["depth_histogram"]), default=0)
    histogram = [{**row, "width": row["count"] * 100 // peak if peak else 0}
                 for row in report["tree"]["depth_histogram"]]
    return {
        **report,
        "rules": {**rules, "plan": plan, "levels": levels,
                  "cap": percent(rules["commission_cap_bp"]),
                  "sharing": percent(rules["profit_sharing_ratio_bp"])},
        "tree": {**report["tree"], "depth_histogram": histogram},
    }


@login_required(login_url="console:login")
@permission_required("distribution.view_compliancealert", raise_exception=True)
def compliance_page(request):
    report = _presentable(compliance_report())
    open_by_kind = [(AlertKind(kind).label, count)
                    for kind, count in sorted(report["alerts"]["by_kind"].items())]
    return render(request, "console/distribution_compliance.html", {
        "report": report, "open_by_kind": open_by_kind,
    })
