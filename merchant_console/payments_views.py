"""The console's payment alerts (Finance → Payment alerts): callbacks WeChat signed that did
not match our records, and the differences reconciliation and the payment flow found. Each
is a human decision."""

from django.shortcuts import render

from merchant_console.access import staff_page
from storefront.payments.callbacks import notifications_refused
from storefront.payments.selectors import mismatches_open


@staff_page("payments.view_reconciliationmismatch")
def payment_alerts(request):
    return render(request, "console/payment_alerts.html", {
        "refused": notifications_refused(limit=100),
        "mismatches": mismatches_open(limit=200),
        "tab": "alerts",
    })
