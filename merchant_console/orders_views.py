"""The console's orders page: what waits to be shipped, and shipping it. (The full console
arrives with its own issue; staff can also use the API at /api/docs/.)"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from control_plane.errors import DomainError
from storefront.orders.models import OrderStatus
from storefront.orders.selectors import order_get, order_list
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
        messages.success(request, f"{number} shipped.")
    except DomainError as exc:
        details = "; ".join(m for field in exc.fields.values() for m in field)
        messages.error(request, f"{number}: {exc.message} {details}".strip())
    return redirect("console:orders")
