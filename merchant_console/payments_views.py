"""The console's payment alerts: callbacks WeChat signed that did not match our records,
and the differences reconciliation and the payment flow found. Each is a human decision."""

from django.contrib.auth.decorators import login_required, permission_required
from django.shortcuts import render

from storefront.payments.callbacks import notifications_refused
from storefront.payments.selectors import mismatches_open


@login_required(login_url="console:login")
@permission_required("payments.view_reconciliationmismatch", raise_exception=True)
def payment_alerts(request):
    return render(request, "console/payment_alerts.html", {
        "refused": notifications_refused(limit=100),
        "mismatches": mismatches_open(limit=200),
    })
