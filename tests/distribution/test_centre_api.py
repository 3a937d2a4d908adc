"""The distributor centre's API (/api/v1/distribution/): each endpoint as anonymous, as a
shopper who is not a distributor and as a distributor; bad input → 400 JSON; the schema."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from storefront.distribution.models import Distributor, Level, Withdrawal
from storefront.distribution.withdrawals import withdrawable_fen
from tests.conftest import host_client
from tests.distribution.conftest import make_chain, make_shopper, pay, place
from tests.distribution.test_withdrawals import fund, seasoned, setup_rules
from tests.shoppers.conftest import sign_in

pytestmark = pytest.mark.django_db

API = "/api/v1/distribution/"
READS = ["me/", "team/", "team/members/", "commissions/", "withdrawals/", "poster/",
         "calculator/?price_fen=100"]
DISTRIBUTOR_ONLY = ["team/", "team/members/", "commissions/", "withdrawals/", "poster/"]


def api(mall, shopper=None) -> Client:
    client = host_client(mall)
    return sign_in(client, shopper) if shopper is not None else client


def post(client, path, data):
    return client.post(API + path, json.dumps(data), content_type="application/json")


def test_anonymous_callers_get_401_json_everywhere(mall, rules):
    client = api(mall)
    for path in READS:
        response = client.get(API + path)
        assert response.status_code == 401, path
        assert response.json()["code"] == "not_authenticated", path
    for path, body in (("join/", {}), ("withdrawals/", {"amount_fen": 100})):
        response = post(client, path, body)
        assert response.status_code == 401 and response.json()["code"] == "not_authenticated"


def test_a_shopper_who_is_not_a_distributor(mall, rules):
    (inviter,) = make_chain(1)
    shopper = make_shopper()
    client = api(mall, shopper)
    client.get(f"/?invite={inviter.invite_code}")

    me = client.get(API + "me/").json()
    assert me["status"] == "none" and me["invite_code"] is None and me["balances"] is None
    assert me["join"] == {"enabled": True, "join_mode": "open",
                          "suggested_invite_code": inviter.invite_code}
    for path in DISTRIBUTOR_ONLY:
        response = client.get(API + path)
        assert response.status_code == 404, path
        assert response.json()["code"] == "distribution_not_found", path
    assert post(client, "withdrawals/", {"amount_fen": 100}).status_code == 404


def test_join_then_me(mall, rules):
    (inviter,) = make_chain(1)
    Level.objects.create(name="普通", rank=0, rates_bp=[1000])
    Level.objects.create(name="黄金", rank=1, rates_bp=[1500],
                         conditions={"direct_recruits": 2, "monthly_gmv_fen": 100_000},
                         match_all=False)
    shopper = make_shopper()
    client = api(mall, shopper)

    joined = post(client, "join/", {"invite_code": inviter.invite_code.lower()})
    assert joined.status_code == 201
    body = joined.json()
    distributor = Distributor.objects.get(shopper=shopper)
    assert body["status"] == "active" and body["invite_code"] == distributor.invite_code
    assert body["links"]["invite_url"] == (
        f"http://{mall.primary_host.split(':')[0]}/?ref={shopper.share_code}"
        f"&invite={distributor.invite_code}")
    assert body["balances"] == {"pending_fen": 0, "frozen_fen": 0, "available_fen": 0,
                                "settled_fen": 0, "withdrawable_fen": 0}
    progress = body["level_progress"]
    assert progress["level"] == {"name": "普通", "rank": 0}
    assert progress["next_level"] == {"name": "黄金", "rank": 1}
    assert [(c["key"], c["required"], c["current"], c["met"]) for c in progress["conditions"]] \
        == [("monthly_gmv_fen", 100_000, 0, False), ("direct_recruits", 2, 0, False)]
    assert progress["match_all"] is False and progress["ready"] is False
    assert distributor.recruiter_id == inviter.pk
    again = post(client, "join/", {})
    assert again.status_code == 200 and Distributor.objects.filter(shopper=shopper).count() == 1


@pytest.mark.parametrize(("mode", "body", "status", "code"), [
    ("open", {"invite_code": "ZZZZZZ"}, 400, "distribution_invalid"),
    ("open", {"invite_code": "TOOLONGCODE"}, 400, "invalid"),
    ("open", {"note": ["not", "text"]}, 400, "invalid"),
    ("invite", {}, 409, "join_not_allowed"),
    ("assigned", {}, 409, "join_not_allowed"),
])
def test_join_refusals_change_nothing(mall, rules, mode, body, status, code):
    rules.join_mode = mode
    rules.save()
    shopper = make_shopper()
    response = post(api(mall, shopper), "join/", body)

    assert response.status_code == status and response.json()["code"] == code
    assert set(response.json()) == {"code", "message", "fields"}
    assert not Distributor.objects.filter(shopper=shopper).exists()


def test_join_needs_the_csrf_token(mall, rules):
    shopper = make_shopper()
    client = Client(HTTP_HOST=mall.primary_host.split(":")[0], enforce_csrf_checks=True)
    sign_in(client, shopper)
    response = post(client, "join/", {})
    assert response.status_code == 403
    assert not Distributor.objects.filter(shopper=shopper).exists()


def test_team_and_members(mall, rules):
    top, middle, bottom = make_chain(3)
    middle.shopper.nickname = "王小明"
    middle.shopper.save()
    client = api(mall, top.shopper)

    team = client.get(API + "team/").json()
    assert team == {"members": 2, "direct": 1, "sales_fen": 0,
                    "per_depth": [{"depth": 1, "members": 1}, {"depth": 2, "members": 1}]}
    members = client.get(API + "team/members/").json()
    assert members["count"] == 2
    first = members["results"][0]
    assert first["name"] == "王*明" and first["depth"] == 1
    assert set(first) == {"name", "invite_code", "depth", "status", "sales_fen", "joined_at"}
    assert [m["invite_code"] for m in client.get(API + "team/members/?depth=2").json()[
        "results"]] == [bottom.invite_code]
    bad = client.get(API + "team/members/?depth=x")
    assert bad.status_code == 400 and "depth" in bad.json()["fields"]


def test_commissions_are_explained_and_filtered(mall, plan, sku):
    top, bottom = make_chain(2)
    order = pay(place(make_shopper(), (sku, 1), referrer=bottom))
    client = api(mall, bottom.shopper)

    body = client.get(API + "commissions/").json()
    assert body["count"] == 1
    row = body["results"][0]
    assert row["order_number"] != order.number and row["order_number"][-4:] == order.number[-4:]
    assert (row["tier"], row["status"], row["amount_fen"], row["base_fen"], row["rate_bp"],
            row["plan_version"], row["rule"]) == (1, "pending", 990, 9900, 1000, 1, "plan rates")
    assert row["explanation"] == "¥99.00 × 10% (the plan's rates), plan v1"
    assert client.get(API + "commissions/?status=frozen").json()["count"] == 0
    bad = client.get(API + "commissions/?status=bogus")
    assert bad.status_code == 400 and bad.json()["code"] == "invalid"
    me = client.get(API + "me/").json()
    assert me["balances"]["pending_fen"] == 990
    assert api(mall, top.shopper).get(API + "commissions/").json()["results"][0]["tier"] == 2


@pytest.fixture
def funded(mall):
    setup_rules()
    (distributor,) = make_chain(1)
    fund(distributor, 5000)
    return seasoned(distributor)


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"amount_fen": "abc"}, 400, "invalid"),
    ({"amount_fen": 12.5}, 400, "invalid"),
    ({"amount_fen": 0}, 400, "invalid"),
    ({}, 400, "invalid"),
    ({"amount_fen": 50}, 400, "withdrawal_invalid"),
    ({"amount_fen": 5001}, 400, "withdrawal_invalid"),
    ({"amount_fen": 100, "real_name": "x" * 40}, 400, "invalid"),
])
def test_withdrawal_refusals_change_nothing(mall, funded, body, status, code):
    response = post(api(mall, funded.shopper), "withdrawals/", body)
    assert response.status_code == status and response.json()["code"] == code
    assert not Withdrawal.objects.exists() and withdrawable_fen(funded.pk) == 5000


def test_withdraw_and_list(mall, funded):
    client = api(mall, funded.shopper)
    created = post(client, "withdrawals/", {"amount_fen": 1234})

    assert created.status_code == 201
    body = created.json()
    assert (body["amount_fen"], body["net_fen"], body["status"], body["confirmation"]) == (
        1234, 1234, "transferring", None)
    listed = client.get(API + "withdrawals/").json()
    assert listed["count"] == 1 and listed["results"][0]["out_bill_no"] == body["out_bill_no"]
    assert client.get(API + "me/").json()["balances"]["withdrawable_fen"] == 5000 - 1234


def test_calculator(mall, plan):
    (distributor,) = make_chain(1)
    client = api(mall, distributor.shopper)
    body = client.get(API + "calculator/?price_fen=9900&quantity=2").json()
    assert body["available"] is True and body["plan_version"] == 1
    assert body["tiers"] == [{"tier": 1, "amount_fen": 1980}, {"tier": 2, "amount_fen": 990}]
    for query in ("", "?price_fen=0", "?price_fen=abc", "?price_fen=100&quantity=1000",
                  "?price_fen=100000000"):
        response = client.get(API + "calculator/" + query)
        assert response.status_code == 400 and response.json()["code"] == "invalid", query
    # A shopper who has not joined may try it too.
    assert api(mall, make_shopper()).get(API + "calculator/?price_fen=100").status_code == 200


def test_calculator_without_a_plan(mall, rules):
    body = api(mall, make_shopper()).get(API + "calculator/?price_fen=100").json()
    assert (body["available"], body["tiers"], body["plan_version"]) == (False, [], None)


def test_a_frozen_distributor_still_sees_their_figures(mall, rules):
    from storefront.distribution import services

    (distributor,) = make_chain(1)
    services.distributor_freeze(distributor_id=distributor.pk, staff_id=1, reason="check")
    me = api(mall, distributor.shopper).get(API + "me/").json()
    assert me["status"] == "frozen" and me["links"] is None and me["balances"] is not None


def test_the_schema_documents_the_centre(mall):
    schema = host_client(mall).get("/api/schema/?format=json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    for path in READS:
        assert API + path.split("?")[0] in paths, path
    assert "image/png" in paths[API + "poster/"]["get"]["responses"]["200"]["content"]
    me = schema.json()["components"]["schemas"]["MeOutput"]["properties"]
    assert {"status", "invite_code", "links", "balances", "level_progress"} <= set(me)
    assert "post" in paths[API + "withdrawals/"] and "post" in paths[API + "join/"]


def test_a_session_from_another_mall_is_worth_nothing(other_mall, mall, rules):
    (distributor,) = make_chain(1)
    client = api(mall, distributor.shopper)
    assert client.get(API + "me/").status_code == 200
    elsewhere = client.get(API + "me/", HTTP_HOST=other_mall.primary_host.split(":")[0])
    assert elsewhere.status_code == 401
