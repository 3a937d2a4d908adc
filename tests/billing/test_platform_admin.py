"""The platform admin's billing views: the figures that run the business, from real rows."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.utils import timezone

from billing.models import BillingAccount, Invoice, Plan, StripeEvent
from billing.selectors import platform_billing_figures
from core.actors import Actor
from tenants import services
from tenants.models import Merchant


def admin_client() -> Client:
    connection.set_schema_to_public()
    admin = get_user_model().objects.create_superuser(
        username="root@example.com", email="root@example.com", password="pw-123456789")
    client = Client(HTTP_HOST="localhost")
    client.force_login(admin)
    return client


def subscribe(merchant, plan_code: str, interval: str, status: str = "active"):
    merchant.plan = Plan.objects.get(code=plan_code)
    merchant.save(update_fields=["plan"])
    BillingAccount.objects.create(merchant=merchant, stripe_customer_id=f"cus_{merchant.slug}",
                                  subscription_status=status, interval=interval)


def test_mrr_conversion_and_churn_come_from_the_rows(make_merchant):
    growth_monthly, pro_yearly, trialing, churned, unpaid = (
        make_merchant().merchant for _ in range(5))
    subscribe(growth_monthly, "growth", "month")
    subscribe(pro_yearly, "pro", "year")
    subscribe(unpaid, "growth", "month", status="canceled")
    for merchant in (growth_monthly, pro_yearly, churned):
        services.merchant_change_status(merchant=merchant, to_status="active",
                                        actor=Actor.system())
    services.merchant_change_status(merchant=churned, to_status="closed", actor=Actor.system())
    services.merchant_change_status(merchant=unpaid, to_status="past_due", actor=Actor.system())
    # One mall was past its trial before the window: the churn rate's denominator.
    Merchant.objects.filter(pk=churned.pk).update(
        created_at=timezone.now() - dt.timedelta(days=60))

    figures = platform_billing_figures()
    assert figures.mrr_fen == 29900 + 999000 // 12
    assert figures.subscribers_by_plan == {"Growth 成长版": 1, "Pro 旗舰版": 1}
    assert figures.trials_open == 1
    assert (figures.trials_converted_30d, figures.trials_ended_30d) == (3, 4)
    assert (figures.churned_30d, figures.active_at_start_30d) == (1, 1)
    assert trialing.status == "trial"


def test_the_admin_pages_answer(make_merchant):
    merchant = make_merchant().merchant
    subscribe(merchant, "growth", "month")
    Invoice.objects.create(stripe_invoice_id="in_adm", merchant=merchant, status="open",
                           attempt_count=1, amount_due_fen=29900, stripe_created=timezone.now())
    StripeEvent.objects.create(event_id="evt_adm", type="invoice.payment_failed",
                               stripe_created=timezone.now(), payload={}, merchant=merchant,
                               outcome="applied")
    client = admin_client()
    overview = client.get("/admin/billing/billingaccount/overview/")
    assert overview.status_code == 200
    html = overview.content.decode()
    assert 'id="mrr">¥299.00' in html and 'id="failed-invoices">1' in html
    assert 'id="applications-waiting">0 waiting' in html
    for url in ("/admin/billing/billingaccount/", "/admin/billing/stripeevent/",
                "/admin/billing/invoice/", "/admin/billing/planchange/"):
        assert client.get(url).status_code == 200, url
    assert client.get("/admin/billing/invoice/add/").status_code == 403
