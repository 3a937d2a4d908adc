"""The console's billing page: what each role sees and may do, without Stripe (the flows
through the Stripe stand-in are in test_checkout_flow.py)."""

from __future__ import annotations

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from billing.models import BillingAccount, Invoice, PlanChange
from core.models import OutboxMessage
from merchant_console.models import AuditEntry

URL = "/console/settings/billing/"


def live_account(mall, **extra) -> BillingAccount:
    return BillingAccount.objects.create(
        merchant=mall, stripe_customer_id="cus_page", stripe_subscription_id="sub_page",
        subscription_status="active", interval="month",
        current_period_end=timezone.now() + timezone.timedelta(days=20), **extra,
    )


def test_the_owner_sees_plan_status_trial_and_plans(staff_client, mall):
    page = staff_client("owner").get(URL)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="billing-plan">Starter' in html
    assert 'id="trial-days-left">14<' in html
    for code in ("starter", "growth", "pro"):
        assert f'id="choose-{code}-month"' in html
    assert "Subscribe monthly" in html and "open-portal" not in html
    assert 'id="usage-products">0 / 200<' in html and 'id="usage-staff">1 / 3<' in html
    assert 'id="usage-domains">not on this plan<' in html


@pytest.mark.parametrize("role,status", [("admin", 200), ("finance", 403),
                                         ("customer_service", 403), ("operations", 403)])
def test_who_sees_the_page(staff_client, role, status):
    assert staff_client(role).get(URL).status_code == status


def test_only_the_owner_commits_money(staff_client, mall):
    admin = staff_client("admin")
    assert "choose-growth-month" not in admin.get(URL).content.decode()
    for action in ("checkout", "change", "portal"):
        response = admin.post(f"{URL}{action}/", {"plan": "growth", "interval": "month"})
        assert response.status_code == 403
    assert not PlanChange.objects.exists()


def test_checkout_without_stripe_configured_says_so(staff_client, settings):
    settings.STRIPE_SECRET_KEY = ""
    response = staff_client("owner").post(f"{URL}checkout/", {"plan": "growth",
                                                             "interval": "month"}, follow=True)
    assert response.redirect_chain[-1][0] == URL
    assert "Online subscription is not set up" in response.content.decode()


def test_a_bad_choice_is_refused_with_its_reason(staff_client):
    response = staff_client("owner").post(f"{URL}checkout/", {"plan": "gold",
                                                             "interval": "week"}, follow=True)
    html = response.content.decode()
    assert "Choose one of the plans." in html and "Choose monthly or yearly billing." in html


def test_a_plan_change_is_queued_once_and_audited(staff_client, mall):
    live_account(mall)
    owner = staff_client("owner")
    response = owner.post(f"{URL}change/", {"plan": "growth", "interval": "year"}, follow=True)
    assert "on its way to Stripe" in response.content.decode()
    change = PlanChange.objects.get()
    assert (change.plan.code, change.interval, change.status) == ("growth", "year", "pending")
    with schema_context("public"):  # billing's messages go out from the public schema
        assert OutboxMessage.objects.filter(task="billing.tasks.send_plan_change",
                                            kwargs={"change_id": change.pk}).exists()
    assert AuditEntry.objects.filter(action="billing.plan_change", target="growth").exists()
    assert 'id="pending-change"' in owner.get(URL).content.decode()

    again = owner.post(f"{URL}change/", {"plan": "pro", "interval": "month"}, follow=True)
    assert "already on its way" in again.content.decode()
    assert PlanChange.objects.count() == 1


def test_changing_without_a_subscription_or_to_the_same_plan_is_refused(staff_client, mall):
    owner = staff_client("owner")
    response = owner.post(f"{URL}change/", {"plan": "growth", "interval": "month"}, follow=True)
    assert "no subscription yet" in response.content.decode()
    live_account(mall)
    response = owner.post(f"{URL}change/", {"plan": "starter", "interval": "month"}, follow=True)
    assert "already on this plan" in response.content.decode()
    assert not PlanChange.objects.exists()


def test_the_page_lists_invoices_and_the_next_one(staff_client, mall, django_assert_num_queries):
    live_account(mall)
    now = timezone.now()
    for n in range(4):
        Invoice.objects.create(
            stripe_invoice_id=f"in_{n}", merchant=mall, number=f"MALL-{n:04d}", status="paid",
            amount_due_fen=9900, amount_paid_fen=9900, stripe_created=now,
            hosted_invoice_url=f"http://stripe.test/i/{n}",
        )
    owner = staff_client("owner")
    owner.get(URL)  # warm the session and permission caches
    with django_assert_num_queries(19):  # 8 of them: the usage of each limit
        html = owner.get(URL).content.decode()
    assert html.count("MALL-000") == 4
    assert 'id="next-invoice">¥99.00' in html
    assert "open-portal" in html and "Switch, monthly" in html


def test_back_from_checkout_the_status_polls_until_the_webhook_came(staff_client, mall):
    owner = staff_client("owner")
    html = owner.get(URL + "?checkout=success").content.decode()
    assert 'hx-trigger="every 2s"' in html and "billing-waiting" in html
    live_account(mall)
    part = owner.get(URL + "?part=status&checkout=success", HTTP_HX_REQUEST="true")
    assert (part.status_code, part["HX-Refresh"]) == (204, "true")
    assert "checkout-confirmed" in owner.get(URL + "?checkout=success").content.decode()


API = "/api/v1/console/settings/billing/"


def test_the_staff_api_reads_the_same_billing(staff_client, mall):
    live_account(mall)
    Invoice.objects.create(stripe_invoice_id="in_api", merchant=mall, number="MALL-API",
                           status="paid", amount_due_fen=9900, amount_paid_fen=9900,
                           stripe_created=timezone.now())
    body = staff_client("admin").get(API).json()
    assert (body["plan_code"], body["subscribed"], body["interval"]) == ("starter", True, "month")
    assert body["next_invoice"]["amount_fen"] == 9900
    assert [i["number"] for i in body["invoices"]] == ["MALL-API"]
    assert staff_client("finance").get(API).status_code == 403


def test_the_staff_api_acts_for_the_owner_only(staff_client, mall, settings):
    live_account(mall)
    admin = staff_client("admin")
    for action in ("checkout", "plan-change", "portal"):
        assert admin.post(f"{API}{action}/", {"plan": "pro", "interval": "month"},
                          content_type="application/json").status_code == 403
    owner = staff_client("owner")
    response = owner.post(f"{API}plan-change/", {"plan": "pro", "interval": "month"},
                          content_type="application/json")
    assert response.status_code == 202 and response.json()["plan"] == "pro"
    again = owner.post(f"{API}plan-change/", {"plan": "growth", "interval": "month"},
                       content_type="application/json")
    assert again.status_code == 409 and "already on its way" in again.json()["message"]
    bad = owner.post(f"{API}checkout/", {"plan": "pro", "interval": "week"},
                     content_type="application/json")
    assert bad.status_code == 400 and "interval" in bad.json()["fields"]
    settings.STRIPE_SECRET_KEY = ""
    portal = owner.post(f"{API}portal/", content_type="application/json")
    assert portal.status_code == 503
    assert AuditEntry.objects.filter(action="billing.plan_change").count() == 1
