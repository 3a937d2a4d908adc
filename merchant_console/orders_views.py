"""The console's 订单 and 售后 pages: the order list with its search, filters and status
tabs, an order's detail (timeline and money), shipping one order or a whole file of them,
the export; after-sales cases and their decisions. Thin: orders_console does the work,
the same code the staff API calls."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import pgettext, pgettext_lazy
from django.views.decorators.http import require_POST

from core.errors import DomainError
from merchant_console import orders_console as console
from merchant_console.access import staff_page
from merchant_console.pages import domain_error_text
from storefront.distribution.models import CommissionStatus
from storefront.orders.after_sales import REASONS
from storefront.orders.errors import AfterSalesNotFound, OrderNotFound
from storefront.orders.models import AfterSalesStatus, OrderStatus
from storefront.orders.selectors import (
    AfterSalesFilters,
    OrderFilters,
    after_sales_get,
    after_sales_list_page,
    after_sales_refund_failures,
    after_sales_search,
    after_sales_status_counts,
    order_list_page,
)
from storefront.payments.selectors import refunds_for_case
from storefront.web.presenters import (
    AFTER_SALES_STATUS_LABELS,
    ORDER_STATUS_LABELS,
    REASON_CHOICES,
)

PAGE_SIZE = 20
COMMISSION_LABELS = {value: pgettext_lazy(console.STATE_CONTEXT, label)
                     for value, label in CommissionStatus.choices}
STAFF_CASE_LABELS = {**AFTER_SALES_STATUS_LABELS,
                     AfterSalesStatus.REFUND_FAILED: pgettext_lazy("console orders",
                                                                   "Refund failed")}


class OrderFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=40)
    status = forms.ChoiceField(required=False, choices=[("", "")] + OrderStatus.choices)
    date_from = forms.DateField(required=False)
    date_to = forms.DateField(required=False)
    shopper = forms.CharField(required=False, max_length=20)
    distributor = forms.CharField(required=False, max_length=20)

    def query(self) -> console.OrderQuery:
        """The filters given; a bad one is a form error and is left out."""
        self.is_valid()
        data = self.cleaned_data  # the valid fields only
        shopper_id = distributor = None
        try:
            shopper_id = console.shopper_ref_resolve(data.get("shopper") or "")
        except DomainError as exc:
            self.add_error("shopper", exc.fields["shopper"][0])
            shopper_id = 0  # nobody: a list of nothing, not everybody's orders
        try:
            distributor = console.distributor_ref_resolve(data.get("distributor") or "")
        except DomainError as exc:
            self.add_error("distributor", exc.fields["distributor"][0])
        if "distributor" in self.errors:
            shopper_id = 0
        return console.OrderQuery(
            filters=OrderFilters(q=data.get("q") or "", date_from=data.get("date_from"),
                                 date_to=data.get("date_to"), shopper_id=shopper_id),
            status=data.get("status") or "", distributor=distributor)


def _query_string(request, *drop: str) -> str:
    query = request.GET.copy()
    for name in ("page", *drop):
        query.pop(name, None)
    return query.urlencode()


@staff_page("orders.view_order")
def orders(request):
    form = OrderFilterForm(request.GET)
    query = form.query()
    found, counts = console.orders_for_query(query)
    page = Paginator(order_list_page(orders=found), PAGE_SIZE).get_page(request.GET.get("page"))
    for order in page:
        order.status_label = ORDER_STATUS_LABELS[order.status]
    tabs = [{"value": "", "label": _("All"), "count": sum(counts.values()),
             "current": not query.status}]
    tabs += [{"value": value, "label": ORDER_STATUS_LABELS[value], "count": counts[value],
              "current": query.status == value} for value in OrderStatus.values]
    return render(request, "console/orders.html", {
        "form": form, "page": page, "tabs": tabs, "filters": request.GET,
        "query": _query_string(request), "tab_query": _query_string(request, "status"),
        "may_ship": request.user.has_perm("orders.change_order"),
    })


@staff_page("orders.view_order")
def order_detail(request, number: str):
    try:
        detail = console.order_detail(
            number=number, with_commissions=console.may_see_commissions(request.user))
    except OrderNotFound:
        raise Http404(_("Order not found.")) from None
    order = detail.order
    order.status_label = ORDER_STATUS_LABELS[order.status]
    for case in detail.cases:
        case.status_label = STAFF_CASE_LABELS[case.status]
    tiers = [{
        "tier": tier,
        "label": (pgettext("console orders", "Tier %(n)d") % {"n": tier.tier})
        if tier.kind == "sale" else pgettext("console orders", "Team leader reward"),
        "statuses": [(COMMISSION_LABELS.get(status, status), fen)
                     for status, fen in tier.by_status.items()],
    } for tier in detail.money.tiers]
    for commission in detail.money.commissions:
        commission.status_label = COMMISSION_LABELS.get(commission.status, commission.status)
    return render(request, "console/order_detail.html", {
        "detail": detail, "order": order, "money": detail.money, "tiers": tiers,
        "may_ship": request.user.has_perm("orders.change_order"),
        "may_decide": request.user.has_perm("orders.change_aftersalesrequest"),
    })


def _back(request, fallback: str) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return fallback


@require_POST
@staff_page("orders.change_order")
def ship(request, number: str):
    back = _back(request, reverse("console:order", kwargs={"number": number}))
    try:
        console.console_order_ship(user=request.user, number=number,
                                   carrier=request.POST.get("carrier", ""),
                                   tracking_number=request.POST.get("tracking_number", ""))
        messages.success(request, _("%(number)s shipped.") % {"number": number})
    except DomainError as exc:
        if exc.status == 404:
            back = reverse("console:orders")
        messages.error(request, f"{number}: {domain_error_text(exc)}")
    return redirect(back)


@staff_page("orders.change_order")
def bulk_ship(request):
    """Upload a CSV/XLSX file of order number, carrier, tracking number: each good row is
    shipped in its own transaction, each bad one is listed with its reason."""
    result = error = None
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            error = _("Choose a CSV or XLSX file.")
        elif upload.size > console.BULK_MAX_BYTES:
            error = _("The file is larger than 2 MB.")
        else:
            try:
                result = console.console_bulk_ship_file(user=request.user, name=upload.name,
                                                        content=upload.read())
            except DomainError as exc:
                error = domain_error_text(exc)
    return render(request, "console/orders_bulk_ship.html", {
        "result": result, "error": error, "max_rows": console.BULK_MAX_ROWS,
    }, status=400 if error else 200)


@require_POST
@staff_page("orders.view_order")
def export(request):
    """Start an export job of the orders of the current filters (in the query string,
    every status tab's filter included) as CSV or XLSX, and show its page."""
    kind = request.POST.get("kind", "csv")
    if kind not in ("csv", "xlsx"):
        messages.error(request, _("Export as csv or xlsx."))
        return redirect(reverse("console:orders") + "?" + _query_string(request, "kind"))
    query = OrderFilterForm(request.GET).query()
    job = console.export_start(user=request.user, query=query, kind=kind)
    return redirect("console:export", job_id=job.pk)


# ------------------------------------------------------------------ after-sales


class CaseFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=40)
    status = forms.ChoiceField(required=False,
                               choices=[("", "")] + AfterSalesStatus.choices)
    reason = forms.ChoiceField(required=False, choices=[("", "")] + [(r, r) for r in REASONS])
    date_from = forms.DateField(required=False)
    date_to = forms.DateField(required=False)

    def values(self) -> dict:
        self.is_valid()
        return {name: self.cleaned_data.get(name) for name in self.fields
                if name not in self.errors}


@staff_page("orders.view_aftersalesrequest")
def after_sales(request):
    form = CaseFilterForm(request.GET)
    values = form.values()
    status = values.get("status") or ""
    cases = after_sales_search(filters=AfterSalesFilters(
        q=values.get("q") or "", reason=values.get("reason") or "",
        date_from=values.get("date_from"), date_to=values.get("date_to")))
    counts = after_sales_status_counts(cases=cases)
    if status:
        cases = cases.filter(status=status)
    page = Paginator(after_sales_list_page(cases=cases), PAGE_SIZE).get_page(
        request.GET.get("page"))
    failures = after_sales_refund_failures(case_ids=[case.pk for case in page])
    reason_labels = dict(REASON_CHOICES)
    for case in page:
        case.refund_failure = failures.get(case.pk, "")
        case.status_label = STAFF_CASE_LABELS[case.status]
        case.reason_label = reason_labels.get(case.reason, case.reason)
    tabs = [{"value": "", "label": _("All"), "count": sum(counts.values()),
             "current": not status}]
    tabs += [{"value": value, "label": STAFF_CASE_LABELS[value], "count": counts[value],
              "current": status == value} for value in AfterSalesStatus.values]
    return render(request, "console/after_sales.html", {
        "form": form, "page": page, "tabs": tabs, "filters": request.GET,
        "query": _query_string(request), "tab_query": _query_string(request, "status"),
        "reasons": REASON_CHOICES,
    })


@staff_page("orders.view_aftersalesrequest")
def after_sales_case(request, case_id: int):
    try:
        case = after_sales_get(request_id=case_id)
    except AfterSalesNotFound:
        raise Http404(_("After-sales case not found.")) from None
    failures = after_sales_refund_failures(case_ids=[case.pk])
    events = list(case.events.all())
    names = console.actor_names(events)
    case.status_label = STAFF_CASE_LABELS[case.status]
    case.reason_label = dict(REASON_CHOICES).get(case.reason, case.reason)
    refunds = refunds_for_case(case_id=case.pk)
    for refund in refunds:
        refund.status_label = console.REFUND_LABELS.get(refund.status, refund.status)
    return render(request, "console/after_sales_case.html", {
        "case": case, "refund_failure": failures.get(case.pk, ""), "refunds": refunds,
        "events": [{"event": event, "actor": console.actor_label(event, names),
                    "from_label": STAFF_CASE_LABELS.get(event.from_status, "∅"),
                    "to_label": STAFF_CASE_LABELS.get(event.to_status, event.to_status)}
                   for event in events],
        "may_decide": request.user.has_perm("orders.change_aftersalesrequest"),
    })


@require_POST
@staff_page("orders.change_aftersalesrequest")
def after_sales_decide(request, case_id: int):
    """Approve (the refund then goes through WeChat Pay), retry a refund that failed, or
    reject with a note."""
    decision = request.POST.get("decision", "")
    back = _back(request, reverse("console:after-sales-case", kwargs={"case_id": case_id}))
    try:
        console.console_after_sales_decide(user=request.user, case_id=case_id,
                                           decision=decision, note=request.POST.get("note", ""))
        messages.success(request, {
            "approve": _("Approved: the refund is on its way."),
            "retry": _("The refund is on its way again."),
        }.get(decision, _("Rejected.")))
    except DomainError as exc:
        if exc.status == 404:
            back = reverse("console:after-sales")
        messages.error(request, domain_error_text(exc))
    return redirect(back)
