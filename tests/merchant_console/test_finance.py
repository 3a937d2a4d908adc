"""Console → Finance: who may see it, that its figures are the ledger's, the reconciliation
results and resolving a difference, the payouts and their totals, the accountant's export,
and the staff API beside each page."""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import os
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone
from openpyxl import load_workbook

from merchant_console.exports import export_run
from merchant_console.models import AuditEntry, ExportJob
from storefront.distribution.models import Distributor, Withdrawal, WithdrawalStatus
from storefront.ledger.models import Account, JournalLeg, LedgerCheckRun
from storefront.ledger.services import Leg, entry_post
from storefront.orders.models import Order
from storefront.payments.models import (
    MismatchKind,
    Payment,
    PaymentChannel,
    PaymentStatus,
    ProfitShare,
    ProfitShareKind,
    ProfitShareReturn,
    ProfitShareStatus,
    ReconciledBill,
    ReconciliationMismatch,
    ShareReturnStatus,
    Transfer,
    TransferStatus,
)
from tests.catalog.conftest import other_mall_staff_client  # noqa: F401 - a fixture
from tests.factories.shoppers import ShopperFactory
from tests.merchant_console.export_helpers import download, follow, job_of

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
ROLES_SEEING_FINANCE = {"owner": 200, "admin": 200, "finance": 200, "operations": 403,
                        "customer_service": 403}
NOVEMBER = "start=2026-11-01&end=2026-11-30"
_keys = itertools.count(1)


@pytest.fixture
def staff_client(staff_client):
    """The conftest's staff clients, reading the console in English."""

    def _make(role: str):
        client = staff_client(role)
        client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
        return client

    return _make


def at(day: str, hour: int = 12) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(hour=hour, tzinfo=SHANGHAI)


def post(day: str, legs: list[Leg], *, hour: int = 12, memo: str = "", order_id=None):
    with time_machine.travel(at(day, hour), tick=False):
        return entry_post(source="test", source_key=f"k{next(_keys)}", legs=legs, memo=memo,
                          order_id=order_id)


def sale(day: str, fen: int, **kwargs):
    return post(day, [Leg("wechat_clearing", fen), Leg("sales_revenue", -fen)], **kwargs)


def commission(day: str, fen: int, openid: str):
    return post(day, [Leg("commission_expense", fen),
                      Leg("distributor_payable", -fen, party=openid)])


@pytest.fixture
def books(mall):
    """October (before the period), November (the period) and December (after it)."""
    sale("2026-10-15", 10000)
    commission("2026-10-16", 1000, "o-alice")
    sale("2026-11-10", 25050, memo="订单 A")
    sale("2026-11-20", 4950)
    post("2026-11-21", [Leg("refunds", 950), Leg("wechat_clearing", -950)])
    commission("2026-11-22", 300, "o-alice")
    # 00:30 on 1 December in Shanghai is still 30 November in UTC: after the period.
    sale("2026-12-01", 777, hour=0)
    return mall


def _row(rows, code, party=""):
    return next(r for r in rows if r.code == code and r.party == party)


# ------------------------------------------------------------------ who may see it


PAGES = ["/console/finance/", "/console/finance/reconciliation/",
         "/console/finance/payouts/", "/console/payments/alerts/"]
APIS = ["/api/v1/console/finance/balances/", "/api/v1/console/finance/reconciliation/",
        "/api/v1/console/finance/mismatches/", "/api/v1/console/finance/payouts/transfers/"]


def _november_export() -> ExportJob:
    """A finished CSV export of November's journal."""
    job = ExportJob.objects.create(kind="finance", file_format="csv", requested_by_id=1,
                                   parameters={"start": "2026-11-01", "end": "2026-11-30"})
    export_run(job_id=job.pk)
    job.refresh_from_db()
    return job


@pytest.mark.parametrize("role", sorted(ROLES_SEEING_FINANCE))
def test_finance_pages_and_api_answer_exactly_the_roles_holding_view_finance(
        books, staff_client, role):
    client = staff_client(role)
    account = Account.objects.get(code="wechat_clearing")
    expected = ROLES_SEEING_FINANCE[role]
    job = _november_export()
    for url in [*PAGES, f"/console/finance/accounts/{account.pk}/", *APIS,
                f"/api/v1/console/finance/accounts/{account.pk}/legs/",
                f"/console/exports/{job.pk}/", f"/console/exports/{job.pk}/download/",
                f"/api/v1/console/finance/exports/{job.pk}/"]:
        assert client.get(url).status_code == expected, url
    started = client.post(f"/console/finance/export/?{NOVEMBER}", {"format": "csv"})
    assert started.status_code == (302 if expected == 200 else 403)
    api = client.post(f"/api/v1/console/finance/exports/?{NOVEMBER}&file_format=csv")
    assert api.status_code == (202 if expected == 200 else 403)


def test_customer_service_cannot_fetch_a_finance_export_by_its_id(books, staff_client):
    job = _november_export()
    client = staff_client("customer_service")
    assert client.get(f"/console/exports/{job.pk}/download/").status_code == 403
    assert client.get(f"/console/exports/{job.pk}/").status_code == 403
    assert client.get(f"/api/v1/console/finance/exports/{job.pk}/").status_code == 403
    assert client.post(f"/console/exports/{job.pk}/retry/").status_code == 403
    # Nor through another area's API: a finance job is no order export.
    assert staff_client("operations").get(
        f"/api/v1/console/orders/exports/{job.pk}/").status_code == 404


def test_the_finance_role_sees_finance_but_not_settings(staff_client):
    client = staff_client("finance")
    assert client.get("/console/finance/").status_code == 200
    assert client.get("/console/settings/").status_code == 403
    nav = client.get("/console/finance/").context["console_areas"]
    assert "finance" in [area["key"] for area in nav]
    assert "settings" not in [area["key"] for area in nav]


@pytest.mark.parametrize("role", ["operations", "customer_service"])
def test_operations_and_customer_service_have_no_finance_link(staff_client, role):
    nav = staff_client(role).get("/console/").context["console_areas"]
    assert not {"finance", "settings"} & {area["key"] for area in nav}


def test_anonymous_is_sent_to_sign_in_and_refused_by_the_api(books, mall_client):
    for url in PAGES:
        response = mall_client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/console/login/"), url
    for url in APIS:
        assert mall_client.get(url).status_code == 403, url
    assert mall_client.post("/console/finance/reconciliation/mismatches/1/resolve/"
                            ).status_code == 302


def test_staff_of_another_mall_are_nobody_here(books, other_mall_staff_client):  # noqa: F811
    response = other_mall_staff_client.get("/console/finance/")
    assert response.status_code == 302
    assert other_mall_staff_client.get(APIS[0]).status_code == 403


# ------------------------------------------------------------------ the ledger


def test_balances_for_a_period_are_the_ledgers(books, staff_client):
    response = staff_client("finance").get(f"/console/finance/?{NOVEMBER}")
    assert response.status_code == 200
    rows = response.context["sheet"].rows
    clearing = _row(rows, "wechat_clearing")
    assert (clearing.opening_fen, clearing.debit_fen, clearing.credit_fen,
            clearing.closing_fen) == (10000, 30000, -950, 39050)
    revenue = _row(rows, "sales_revenue")
    assert (revenue.opening_fen, revenue.debit_fen, revenue.credit_fen,
            revenue.closing_fen) == (-10000, 0, -30000, -40000)
    alice = _row(rows, "distributor_payable", "o-alice")
    assert (alice.opening_fen, alice.credit_fen, alice.closing_fen) == (-1000, -300, -1300)
    for row in rows:  # closing = opening + the period's legs, read from the legs themselves
        legs = JournalLeg.objects.filter(account_id=row.account_id)
        in_period = sum(leg.amount_fen for leg in legs.select_related("entry")
                        if at("2026-11-01", 0) <= leg.entry.posted_at < at("2026-12-01", 0))
        before = sum(leg.amount_fen for leg in legs.select_related("entry")
                     if leg.entry.posted_at < at("2026-11-01", 0))
        assert row.opening_fen == before
        assert row.closing_fen == before + in_period
    sheet = response.context["sheet"]
    assert sheet.opening_fen == sheet.closing_fen == 0  # a balanced ledger sums to zero
    assert sheet.debit_fen == -sheet.credit_fen == 30000 + 950 + 300
    html = response.content.decode()
    assert "390.50" in html and "-400.00" in html


def test_the_ledger_page_shows_the_last_check(books, staff_client):
    client = staff_client("finance")
    assert "has not run yet" in client.get("/console/finance/").content.decode()
    LedgerCheckRun.objects.create(ok=False, problems=["payment:X is missing"],
                                  figures={"entries": 7, "legs": 14, "total": 0})
    html = client.get("/console/finance/").content.decode()
    assert "payment:X is missing" in html


@pytest.mark.parametrize("parties", [2, 12])
def test_the_ledger_page_costs_the_same_with_many_accounts_and_entries(
        mall, staff_client, parties, django_assert_num_queries):
    for number in range(parties):
        sale("2026-11-03", 1000 + number)
        commission("2026-11-04", 10 + number, f"o-{number}")
    client = staff_client("finance")
    # host → mall (search_path, domain, search_path), session, user, perms (2), the last
    # check run, the balances aggregate, the role's group and the plan for the layout
    with django_assert_num_queries(11):
        response = client.get(f"/console/finance/?{NOVEMBER}")
    assert len(response.context["sheet"].rows) == parties + 3


@pytest.mark.parametrize("entries", [3, 30])
def test_an_accounts_legs_page_costs_the_same_with_many_legs(
        mall, staff_client, entries, django_assert_num_queries):
    for number in range(entries):
        sale("2026-11-05", 100 + number)
    account = Account.objects.get(code="wechat_clearing")
    client = staff_client("finance")
    # host → mall (3), session, user, perms (2), the account, its opening, the count, the
    # page of legs, the role's group and the plan for the layout
    with django_assert_num_queries(13):
        response = client.get(f"/console/finance/accounts/{account.pk}/?{NOVEMBER}")
    legs = response.context["legs"]
    assert len(legs) == min(entries, 50)


def test_an_accounts_legs_carry_their_running_balance_across_pages(books, staff_client):
    for _ in range(55):
        sale("2026-11-25", 1)
    account = Account.objects.get(code="wechat_clearing")
    client = staff_client("finance")
    response = client.get(f"/console/finance/accounts/{account.pk}/?{NOVEMBER}&page=2")
    assert response.context["opening"] == 10000
    legs = response.context["legs"]
    last_leg, last_balance = legs[-1]
    assert last_balance == 10000 + 25050 + 4950 - 950 + 55
    api = client.get(f"/api/v1/console/finance/accounts/{account.pk}/legs/?{NOVEMBER}"
                     "&page=3").json()
    assert api["opening_fen"] == 10000
    assert api["results"][-1]["balance_fen"] == last_balance


def test_an_unknown_account_is_404_and_a_bad_period_400(books, staff_client):
    client = staff_client("finance")
    assert client.get("/console/finance/accounts/999999/").status_code == 404
    assert client.get("/api/v1/console/finance/accounts/999999/legs/").status_code == 404
    backwards = client.get("/console/finance/?start=2026-11-30&end=2026-11-01")
    assert backwards.status_code == 400
    assert "ends before it starts" in backwards.content.decode()
    assert client.get("/console/finance/?start=nonsense").status_code == 400
    assert client.get("/console/finance/?start=2020-01-01&end=2026-01-01").status_code == 400
    api = client.get("/api/v1/console/finance/balances/?start=2026-11-30&end=2026-11-01")
    assert api.status_code == 400
    assert "period" in api.json()["fields"]


def test_the_balances_api_matches_the_page(books, staff_client):
    client = staff_client("finance")
    body = client.get(f"/api/v1/console/finance/balances/?{NOVEMBER}").json()
    clearing = next(a for a in body["accounts"] if a["code"] == "wechat_clearing")
    assert (clearing["opening_fen"], clearing["debit_fen"], clearing["credit_fen"],
            clearing["closing_fen"]) == (10000, 30000, -950, 39050)
    assert body["totals"]["closing_fen"] == 0
    assert body["period"] == {"start": "2026-11-01", "end": "2026-11-30"}


# ------------------------------------------------------------------ the export


def test_the_csv_export_is_the_periods_journal_in_yuan(books, staff_client):
    client = staff_client("finance")
    job = job_of(client.post(f"/console/finance/export/?{NOVEMBER}", {"format": "csv"}))
    entry = AuditEntry.objects.get(action="journal.export")  # when it is asked for
    assert entry.area == "finance" and entry.detail["format"] == "csv"
    assert entry.target == str(job.pk)
    content, response = download(client, job)
    assert response["Content-Disposition"] == \
        'attachment; filename="journal-20261101-20261130.csv"'
    text = content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    journal = rows[1:rows.index([])]
    assert len(journal) == 8  # four entries of two legs in November
    first = journal[0]
    assert first[5] == "订单 A" and first[6] == "wechat_clearing" and first[9] == "250.50"
    assert journal[1][10] == "250.50" and journal[1][9] == ""
    debits = sum(float(r[9] or 0) for r in journal)
    credits = sum(float(r[10] or 0) for r in journal)
    assert round(debits, 2) == round(credits, 2) == 312.50
    balances = rows[rows.index([]) + 2:]
    assert balances[-1][1] == "Total" and balances[-1][6] == "0.00"
    job.refresh_from_db()
    assert (job.rows_done, job.rows_total) == (8, 8)


def test_the_xlsx_export_has_the_journal_and_the_balances(books, staff_client):
    client = staff_client("finance")
    content, _response = follow(
        client, client.post(f"/console/finance/export/?{NOVEMBER}", {"format": "xlsx"}))
    book = load_workbook(io.BytesIO(content))
    assert book.sheetnames == ["Journal", "Balances"]
    journal = list(book["Journal"].iter_rows(min_row=2, values_only=True))
    assert len(journal) == 8
    assert float(journal[0][9]) == 250.50
    assert book["Journal"].cell(row=2, column=10).number_format == "#,##0.00"
    balances = {(r[0] or "", r[2] or ""): r
                for r in book["Balances"].iter_rows(min_row=2, values_only=True)}
    clearing = balances[("wechat_clearing", "")]
    assert [float(v) for v in clearing[3:]] == [100.00, 300.00, 9.50, 390.50]
    assert float(balances[("", "")][6]) == 0


def test_a_bad_export_request_is_400_and_records_nothing(books, staff_client):
    client = staff_client("finance")
    assert client.post(f"/console/finance/export/?{NOVEMBER}", {"format": "pdf"}
                       ).status_code == 400
    assert client.post("/console/finance/export/?start=2026-12-01&end=2026-11-01",
                       {"format": "csv"}).status_code == 400
    assert client.post(f"/api/v1/console/finance/exports/?{NOVEMBER}&file_format=pdf"
                       ).status_code == 400
    assert client.post("/api/v1/console/finance/exports/?start=2026-12-01&end=2026-11-01"
                       ).status_code == 400
    assert not AuditEntry.objects.filter(action="journal.export").exists()
    assert not ExportJob.objects.exists()
    api = client.post("/api/v1/console/finance/exports/",
                      {"start": "2026-11-01", "end": "2026-11-30", "file_format": "xlsx"},
                      content_type="application/json")
    assert api.status_code == 202
    job = ExportJob.objects.get(pk=api.json()["id"])
    assert job.parameters == {"start": "2026-11-01", "end": "2026-11-30"}
    export_run(job_id=job.pk)
    status = client.get(f"/api/v1/console/finance/exports/{job.pk}/").json()
    assert status["status"] == "done" and status["percent"] == 100
    response = client.get(status["download_url"])
    content = b"".join(response.streaming_content)
    assert load_workbook(io.BytesIO(content)).sheetnames == ["Journal", "Balances"]


def test_exports_older_than_a_week_are_deleted_with_their_files(books):
    from merchant_console.exports import export_purge

    old, new = _november_export(), _november_export()
    ExportJob.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - dt.timedelta(days=7, minutes=1))
    old_path = old.file.path
    assert export_purge() == 1
    assert list(ExportJob.objects.values_list("pk", flat=True)) == [new.pk]
    assert not os.path.exists(old_path) and os.path.exists(new.file.path)


# ------------------------------------------------------------------ reconciliation


def _payment(day: str, fen: int, number: int) -> Payment:
    order = Order.objects.create(
        number=f"N{number:06d}", shopper=ShopperFactory(), goods_fen=fen, total_fen=fen,
        address={}, pay_deadline=timezone.now(), status="paid",
    )
    return Payment.objects.create(
        order=order, out_trade_no=f"T{number:06d}", channel=PaymentChannel.JSAPI,
        sub_mchid="1900000109", amount_fen=fen, status=PaymentStatus.SUCCEEDED,
        expires_at=timezone.now(), paid_at=at(day),
    )


@pytest.fixture
def reconciled(mall):
    for number, (day, fen) in enumerate(
            [("2026-11-10", 5000), ("2026-11-10", 2500), ("2026-11-11", 900)], start=1):
        _payment(day, fen, number)
    ReconciledBill.objects.create(bill_date=dt.date(2026, 11, 10), trades=2, paid_fen=7500,
                                  refunded_fen=0, fee_fen=45)
    ReconciledBill.objects.create(bill_date=dt.date(2026, 11, 11), trades=2, paid_fen=1900,
                                  refunded_fen=300, fee_fen=11)
    missing = ReconciliationMismatch.objects.create(
        bill_date=dt.date(2026, 11, 11), kind=MismatchKind.MISSING_HERE,
        out_trade_no="T999999", details={"bill_amount_fen": 1000})
    ReconciliationMismatch.objects.create(
        bill_date=dt.date(2026, 11, 11), kind=MismatchKind.FEES, out_trade_no="",
        details={"fee_fen": 11}, resolved=True)
    return missing


def test_each_reconciled_day_beside_the_malls_own_payments(reconciled, staff_client):
    response = staff_client("finance").get("/console/finance/reconciliation/?state=all")
    days = {d["bill"].bill_date.isoformat(): d for d in response.context["days"]}
    assert days["2026-11-10"]["our_count"] == 2 and days["2026-11-10"]["our_paid_fen"] == 7500
    assert days["2026-11-10"]["difference_fen"] == 0
    assert days["2026-11-10"]["open"] == 0
    assert days["2026-11-11"]["difference_fen"] == 1000
    assert (days["2026-11-11"]["open"], days["2026-11-11"]["resolved"]) == (1, 1)
    assert len(response.context["mismatches"]) == 2
    html = response.content.decode()
    assert "T999999" in html and "matched" in html


def test_resolving_a_difference_is_audited_and_happens_once(reconciled, staff_client):
    client = staff_client("finance")
    url = f"/console/finance/reconciliation/mismatches/{reconciled.pk}/resolve/"
    response = client.post(url, {"note": "WeChat resent the callback",
                                 "next": "/console/finance/reconciliation/?state=all"})
    assert response.status_code == 302
    assert response["Location"] == "/console/finance/reconciliation/?state=all"
    reconciled.refresh_from_db()
    assert reconciled.resolved
    entry = AuditEntry.objects.get(action="mismatch.resolve")
    assert (entry.area, entry.target, entry.actor_id) == ("finance", str(reconciled.pk),
                                                           client.user.pk)
    assert entry.detail["note"] == "WeChat resent the callback"
    again = client.post(url, follow=True)
    assert "already marked resolved" in again.content.decode()
    assert AuditEntry.objects.filter(action="mismatch.resolve").count() == 1
    api = client.post(f"/api/v1/console/finance/mismatches/{reconciled.pk}/resolve/")
    assert api.status_code == 409
    assert client.post("/api/v1/console/finance/mismatches/999999/resolve/").status_code == 404


def test_an_offsite_next_is_not_followed(reconciled, staff_client):
    response = staff_client("finance").post(
        f"/console/finance/reconciliation/mismatches/{reconciled.pk}/resolve/",
        {"next": "https://evil.example/"})
    assert response["Location"] == "/console/finance/reconciliation/"


@pytest.mark.parametrize("role", ["operations", "customer_service"])
def test_who_cannot_resolve_changes_nothing(reconciled, staff_client, role):
    client = staff_client(role)
    assert client.post(f"/console/finance/reconciliation/mismatches/{reconciled.pk}/resolve/"
                       ).status_code == 403
    assert client.post(f"/api/v1/console/finance/mismatches/{reconciled.pk}/resolve/"
                       ).status_code == 403
    reconciled.refresh_from_db()
    assert not reconciled.resolved


def test_the_mismatch_api_filters_and_resolves(reconciled, staff_client):
    client = staff_client("admin")
    body = client.get("/api/v1/console/finance/mismatches/?state=open").json()
    assert [m["out_trade_no"] for m in body["results"]] == ["T999999"]
    assert client.get("/api/v1/console/finance/mismatches/?state=nope").status_code == 400
    resolved = client.post(f"/api/v1/console/finance/mismatches/{reconciled.pk}/resolve/",
                           {"note": "ok"}, content_type="application/json")
    assert resolved.status_code == 200 and resolved.json()["resolved"] is True
    assert AuditEntry.objects.filter(action="mismatch.resolve", actor_id=client.user.pk).exists()
    days = client.get("/api/v1/console/finance/reconciliation/").json()["results"]
    assert days[0]["bill_date"] == "2026-11-11" and days[0]["open"] == 0


@pytest.mark.parametrize("days", [2, 12])
def test_the_reconciliation_page_costs_the_same_with_many_days(
        mall, staff_client, days, django_assert_num_queries):
    for offset in range(days):
        day = dt.date(2026, 10, 1) + dt.timedelta(days=offset)
        ReconciledBill.objects.create(bill_date=day, trades=1, paid_fen=100, refunded_fen=0,
                                      fee_fen=1)
        ReconciliationMismatch.objects.create(bill_date=day, kind=MismatchKind.AMOUNT,
                                              out_trade_no=f"T{offset}", details={})
    client = staff_client("finance")
    # host → mall (3), session, user, perms (2), bills count + page, mismatch counts, our
    # payments, mismatches count + page, the role's group and the plan for the layout
    with django_assert_num_queries(15):
        client.get("/console/finance/reconciliation/")


# ------------------------------------------------------------------ payouts


@pytest.fixture
def paid_out(mall):
    for number, (status, fen) in enumerate([(TransferStatus.SUCCESS, 1000),
                                            (TransferStatus.SUCCESS, 2000),
                                            (TransferStatus.FAIL, 500)]):
        with time_machine.travel(at("2026-11-12"), tick=False):
            Transfer.objects.create(out_bill_no=f"B{number}", sub_mchid="1900000109",
                                    appid="wx1", openid=f"o-{number}", amount_fen=fen,
                                    remark="佣金", status=status)
    with time_machine.travel(at("2026-10-12"), tick=False):
        Transfer.objects.create(out_bill_no="B-old", sub_mchid="1900000109", appid="wx1",
                                openid="o-old", amount_fen=99999, remark="佣金",
                                status=TransferStatus.SUCCESS)
    for number in range(3):
        shopper = ShopperFactory(nickname=f"分销员{number}")
        distributor = Distributor.objects.create(shopper=shopper, joined_via="staff",
                                                 status="active")
        Withdrawal.objects.create(
            distributor=distributor, amount_fen=10000, fee_fen=100, net_fen=9900,
            status=WithdrawalStatus.SUCCEEDED if number else WithdrawalStatus.REVIEWING,
            out_bill_no=f"W{number}", openid=f"o-w{number}",
            created_at=at("2026-11-13"))
    payment = _payment("2026-11-10", 8000, 77)
    with time_machine.travel(at("2026-11-14"), tick=False):
        ProfitShare.objects.create(payment=payment, out_order_no="S1",
                                   kind=ProfitShareKind.SHARE,
                                   status=ProfitShareStatus.FINISHED, sub_mchid="1900000109",
                                   amount_fen=800)
        ProfitShareReturn.objects.create(share=ProfitShare.objects.get(out_order_no="S1"),
                                         out_return_no="R1", return_mchid="1900000109",
                                         amount_fen=300, description="退款回退",
                                         status=ShareReturnStatus.SUCCESS)
    return mall


def test_payouts_by_kind_with_totals_per_state(paid_out, staff_client):
    client = staff_client("finance")
    response = client.get(f"/console/finance/payouts/?kind=transfers&{NOVEMBER}")
    totals = {value: (n, fen) for value, _, n, fen in response.context["totals"]}
    assert totals[TransferStatus.SUCCESS] == (2, 3000)
    assert totals[TransferStatus.FAIL] == (1, 500)
    assert response.context["total_fen"] == 3500  # October's transfer is not in the period
    assert len(response.context["page"]) == 3
    only_failed = client.get(f"/console/finance/payouts/?kind=transfers&status=FAIL&{NOVEMBER}")
    assert [t.out_bill_no for t in only_failed.context["page"]] == ["B2"]
    withdrawals = client.get(f"/console/finance/payouts/?{NOVEMBER}")
    assert withdrawals.context["kind"].key == "withdrawals"
    assert withdrawals.context["total_fen"] == 30000
    assert "分销员1" in withdrawals.content.decode()
    shares = client.get(f"/console/finance/payouts/?kind=shares&{NOVEMBER}")
    assert [s.out_order_no for s in shares.context["page"]] == ["S1"]
    returns = client.get(f"/console/finance/payouts/?kind=returns&{NOVEMBER}")
    assert [r.out_return_no for r in returns.context["page"]] == ["R1"]
    assert returns.context["total_fen"] == 300


def test_the_payouts_api(paid_out, staff_client):
    client = staff_client("finance")
    body = client.get(f"/api/v1/console/finance/payouts/transfers/?{NOVEMBER}").json()
    assert body["count"] == 3
    success = next(t for t in body["totals"] if t["status"] == "SUCCESS")
    assert (success["count"], success["amount_fen"]) == (2, 3000)
    withdrawals = client.get(f"/api/v1/console/finance/payouts/withdrawals/?{NOVEMBER}"
                             "&status=succeeded").json()
    assert withdrawals["count"] == 2 and withdrawals["results"][0]["net_fen"] == 9900
    assert client.get("/api/v1/console/finance/payouts/bribes/").status_code == 404
    assert client.get("/api/v1/console/finance/payouts/transfers/?status=nope"
                      ).status_code == 400


@pytest.mark.parametrize("kind", ["withdrawals", "transfers", "shares", "returns"])
def test_each_payout_tab_costs_a_fixed_number_of_queries(
        paid_out, staff_client, kind, django_assert_num_queries):
    client = staff_client("finance")
    # host → mall (3), session, user, perms (2), totals, count, page (related rows joined),
    # the role's group and the plan for the layout
    with django_assert_num_queries(12):
        client.get(f"/console/finance/payouts/?kind={kind}&{NOVEMBER}")


def test_payment_alerts_sit_under_finance(reconciled, staff_client):
    response = staff_client("finance").get("/console/payments/alerts/")
    assert response.status_code == 200
    assert [a["key"] for a in response.context["console_areas"] if a["current"]] == ["finance"]
    assert "T999999" in response.content.decode()

