"""The console's orders page: what waits to be shipped, and shipping it. (The full console
arrives with its own issue; staff can also use the API at /api/docs/.)"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.errors import DomainError
from storefront.orders.after_sales import (
    after_sales_approve,
    after_sales_reject,
    after_sales_retry_refund,
)
from storefront.orders.models import AfterSalesStatus, OrderStatus
from storefront.orders.selectors import (
    after_sales_list,
    after_sales_refund_failures,
    order_get,
    order_list,
)
from storefront.orders.services import order_ship

STATUSES = [OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.PENDING_PAYMENT]


@login_required(login_url="console:login")
@permission_required("orders.view_order", raise_exception=True)
def orders(request):
    status = request.GET.get("status") or OrderStatus.PAID
    if status not in OrderStatus.values:
        status = OrderStatus.PAID
    return render(request, "console/orders.html", {
        "orders": order_list(status=status)[:100], "status": status, "statuses": STATUSES,
    })


@require_POST
@login_required(login_url="console:login")
@permission_required("orders.change_order", raise_exception=True)
def ship(request, number: str):
    try:
        order = order_get(number=number)
        order_ship(
            order=order, staff_user_id=request.user.pk,
            carrier=request.POST.get("carrier", ""),
            tracking_number=request.POST.get("tracking_number", ""),
        )
        messages.success(request, _("%(number)s shipped.") % {"number": number})
    except DomainError as exc:
        details = "; ".join(m for field in exc.fields.values() for m in field)
        messages.error(request, f"{number}: {exc.message} {details}".strip())
    return redirect("console:orders")


@login_required(login_url="console:login")
@permission_required("orders.view_aftersalesrequest", raise_exception=True)
def after_sales(request):
    status = request.GET.get("status") or AfterSalesStatus.REQUESTED
    if status not in AfterSalesStatus.values:
        status = AfterSalesStatus.REQUESTED
    cases = list(after_sales_list(status=status)[:100])
    failures = after_sales_refund_failures(case_ids=[case.pk for case in cases])
    for case in cases:
        case.refund_failure = failures.get(case.pk, "")
    return render(request, "console/after_sales.html", {
        "cases": cases, "status": status, "statuses": list(AfterSalesStatus),
    })


@require_POST
@login_required(login_url="console:login")
@permission_required("orders.change_aftersalesrequest", raise_exception=True)
def after_sales_decide(request, case_id: int):
    """Approve (the refund then goes through WeChat Pay), retry a refund that failed, or
    reject with a note."""
    note = request.POST.get("note", "")
    decision = request.POST.get("decision")
    try:
        if decision == "approve":
            after_sales_approve(request_id=case_id, staff_user_id=request.user.pk, note=note)
            messages.success(request, _("Approved: the refund is on its way."))
        elif decision == "retry":
            after_sales_retry_refund(request_id=case_id, staff_user_id=request.user.pk,
                                     note=note)
            messages.success(request, _("The refund is on its way again."))
        else:
            after_sales_reject(request_id=case_id, staff_user_id=request.user.pk, note=note)
            messages.success(request, _("Rejected."))
    except DomainError as exc:
        details = "; ".join(m for field in exc.fields.values() for m in field)
        messages.error(request, f"{exc.message} {details}".strip())
    return redirect("console:after-sales")
