"""The distributor centre's pages: joining in each mode, links that bind, sharing, the
team, earnings (with the calculator and level progress) and the live pulse."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from storefront.distribution import binding, services
from storefront.distribution.models import (
    CustomerBinding,
    DistributionSettings,
    Distributor,
    Level,
)
from storefront.web.distribution_links import INVITE_SESSION_KEY
from tests.conftest import host_client
from tests.distribution.conftest import make_chain, make_shopper, pay, place
from tests.shoppers.conftest import sign_in

pytestmark = pytest.mark.django_db


def client_for(mall, shopper=None):
    client = host_client(mall)
    return sign_in(client, shopper) if shopper is not None else client


def join_mode(mode: str) -> None:
    rules = DistributionSettings.current()
    rules.join_mode = mode
    rules.save()


# ---------------------------------------------------------------- joining


def test_the_join_page_explains_the_programme_to_anyone_with_the_invite_prefilled(mall, rules):
    (inviter,) = make_chain(1)
    page = client_for(mall).get(f"/me/distribution/join/?invite={inviter.invite_code}")

    assert page.status_code == 200
    html = page.content.decode()
    assert "Joining is free." in html and "never have to buy anything" in html
    assert f'value="{inviter.invite_code}"' in html
    assert 'id="join-sign-in"' in html and 'id="join-button"' not in html


def test_a_shopper_joins_for_free_through_an_invite_code(mall, rules):
    (inviter,) = make_chain(1)
    shopper = make_shopper()
    client = client_for(mall, shopper)

    page = client.get(f"/me/distribution/join/?invite={inviter.invite_code}")
    assert f'value="{inviter.invite_code}"' in page.content.decode()
    response = client.post("/me/distribution/join/", {"invite_code": inviter.invite_code})

    assert response.status_code == 302 and response["Location"] == "/me/distribution/"
    joined = Distributor.objects.get(shopper=shopper)
    assert (joined.status, joined.recruiter_id, joined.joined_via) == (
        "active", inviter.pk, "invitation")
    centre = client.get("/me/distribution/").content.decode()
    assert joined.invite_code in centre and "Welcome!" in centre


def test_joining_without_a_code_uses_the_bound_distributors(mall, rules):
    (bound_to,) = make_chain(1)
    shopper = make_shopper()
    binding.binding_touch(shopper=shopper, distributor=bound_to, source="link")
    client = client_for(mall, shopper)

    assert f'value="{bound_to.invite_code}"' in client.get(
        "/me/distribution/join/").content.decode()
    client.post("/me/distribution/join/", {"invite_code": ""})

    assert Distributor.objects.get(shopper=shopper).recruiter_id == bound_to.pk


def test_the_invite_from_a_link_is_remembered_for_the_join_form(mall, rules):
    (inviter,) = make_chain(1)
    client = client_for(mall, make_shopper())
    client.get(f"/?ref={inviter.shopper.share_code}&invite={inviter.invite_code}")

    assert client.session[INVITE_SESSION_KEY] == inviter.invite_code
    assert f'value="{inviter.invite_code}"' in client.get(
        "/me/distribution/join/").content.decode()


def test_in_apply_mode_the_application_waits_and_the_centre_says_so(mall, rules):
    join_mode("apply")
    shopper = make_shopper()
    client = client_for(mall, shopper)
    assert 'id="join-apply"' in client.get("/me/distribution/join/").content.decode()

    client.post("/me/distribution/join/", {"invite_code": "", "note": "我有很多朋友"})

    distributor = Distributor.objects.get(shopper=shopper)
    assert (distributor.status, distributor.application_note) == ("pending", "我有很多朋友")
    centre = client.get("/me/distribution/").content.decode()
    assert 'id="pending-note"' in centre and "Waiting for the mall&#x27;s approval" in centre
    # A pending distributor has no link or poster yet.
    assert client.get("/me/distribution/share/").status_code == 302
    assert client.get("/me/distribution/poster.png").status_code == 409


def test_invitation_only_needs_a_code_and_says_so(mall, rules):
    join_mode("invite")
    shopper = make_shopper()
    client = client_for(mall, shopper)
    assert 'id="join-invite-only"' in client.get("/me/distribution/join/").content.decode()

    refused = client.post("/me/distribution/join/", {"invite_code": ""})

    assert refused.status_code == 409
    assert "by invitation" in refused.content.decode()
    assert not Distributor.objects.filter(shopper=shopper).exists()


def test_when_staff_assign_distributors_there_is_no_join_button(mall, rules):
    join_mode("assigned")
    shopper = make_shopper()
    client = client_for(mall, shopper)

    page = client.get("/me/distribution/join/").content.decode()
    assert 'id="join-assigned"' in page and 'id="join-button"' not in page
    refused = client.post("/me/distribution/join/", {"invite_code": ""})
    assert refused.status_code == 409
    assert not Distributor.objects.filter(shopper=shopper).exists()


def test_a_wrong_invite_code_is_named_and_nothing_is_created(mall, rules):
    shopper = make_shopper()
    refused = client_for(mall, shopper).post("/me/distribution/join/",
                                             {"invite_code": "ZZZZZZ"})

    assert refused.status_code == 400
    assert "This invite code is not valid." in refused.content.decode()
    assert not Distributor.objects.filter(shopper=shopper).exists()


def test_the_join_page_speaks_chinese(mall, rules):
    page = client_for(mall, make_shopper()).get("/me/distribution/join/",
                                                 HTTP_ACCEPT_LANGUAGE="zh-hans")
    html = page.content.decode()
    assert "加入免费" in html and "免费加入" in html


def test_strangers_are_sent_to_sign_in_or_to_join(mall, rules):
    anonymous = client_for(mall)
    for url in ("/me/distribution/", "/me/distribution/team/", "/me/distribution/earnings/",
                "/me/distribution/withdrawals/", "/me/distribution/share/",
                "/me/distribution/poster.png"):
        response = anonymous.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/"), url
    shopper_client = client_for(mall, make_shopper())
    for url in ("/me/distribution/", "/me/distribution/team/", "/me/distribution/earnings/",
                "/me/distribution/withdrawals/", "/me/distribution/share/"):
        response = shopper_client.get(url)
        assert response["Location"] == "/me/distribution/join/", url
    assert shopper_client.get("/me/distribution/poster.png").status_code == 404


def test_the_account_page_links_the_centre(mall, rules):
    page = client_for(mall, make_shopper()).get("/me/").content.decode()
    assert 'href="/me/distribution/"' in page


# ---------------------------------------------------------------- links that bind


def test_a_signed_in_visitor_through_a_link_is_bound_with_one_query_per_code(mall, rules):
    (sharer,) = make_chain(1)
    visitor = make_shopper()
    client = client_for(mall, visitor)

    with CaptureQueriesContext(connection) as plain:
        client.get("/")
    assert not any("distribution_distributor" in q["sql"] for q in plain.captured_queries)

    client.get(f"/?ref={sharer.shopper.share_code}")
    assert CustomerBinding.objects.get(shopper=visitor).distributor_id == sharer.pk

    with CaptureQueriesContext(connection) as again:
        client.get(f"/?ref={sharer.shopper.share_code}")
    assert not any("distribution_distributor" in q["sql"] for q in again.captured_queries)


def test_a_visitor_who_signs_in_after_opening_a_link_is_bound(mall, rules, settings):
    from storefront.shoppers.senders import MemoryCodeSender

    settings.SHOPPER_CODE_SENDER = "storefront.shoppers.senders.MemoryCodeSender"
    settings.SHOPPER_CODE_IP_RATE = ""
    MemoryCodeSender.clear()
    (sharer,) = make_chain(1)
    client = client_for(mall)
    client.get(f"/?ref={sharer.shopper.share_code}")
    client.post("/api/v1/auth/code/", {"agree": True, "phone": "13900001111"},
                content_type="application/json")
    signed = client.post("/api/v1/auth/login/", {
        "agree": True, "phone": "13900001111", "code": MemoryCodeSender.last_code("13900001111"),
    }, content_type="application/json")

    assert signed.status_code == 200
    assert CustomerBinding.objects.get(shopper__phone="13900001111").distributor_id == sharer.pk


def test_a_link_of_someone_not_active_binds_nobody(mall, rules):
    (sharer,) = make_chain(1)
    services.distributor_freeze(distributor_id=sharer.pk, staff_id=1, reason="check")
    visitor = make_shopper()
    client_for(mall, visitor).get(f"/?ref={sharer.shopper.share_code}")
    own = client_for(mall, sharer.shopper)
    own.get(f"/?ref={sharer.shopper.share_code}")
    assert not CustomerBinding.objects.exists()


# ---------------------------------------------------------------- sharing and the team


def test_the_share_page_carries_the_share_and_invite_codes(mall, rules, sku):
    (sharer,) = make_chain(1)
    page = client_for(mall, sharer.shopper).get("/me/distribution/share/")

    html = page.content.decode()
    link = f"?ref={sharer.shopper.share_code}&amp;invite={sharer.invite_code}"
    assert f'http://{mall.primary_host.split(":")[0]}/{link}' in html
    assert "<svg" in html and sharer.invite_code in html
    assert f"/me/distribution/poster.png?product={sku.product_id}" in html


def test_the_team_shows_depths_masked_names_and_sales_never_contact_details(mall, rules):
    top, middle, bottom = make_chain(3)
    Distributor.objects.filter(pk=middle.pk).update(sales_fen=12345)
    middle.shopper.nickname = "王小明"
    middle.shopper.save()
    client = client_for(mall, top.shopper)

    html = client.get("/me/distribution/team/").content.decode()
    assert re.search(r'id="team-members">2<', html) and re.search(r'id="team-direct">1<', html)
    assert "Direct (recruited by you)" in html and "Indirect, 2 levels down" in html
    assert "王*明" in html and "王小明" not in html and "¥123.45" in html
    for secret in (middle.shopper.phone, bottom.shopper.phone, middle.shopper.wechat_openid,
                   "文三路"):
        assert secret not in html
    direct = client.get("/me/distribution/team/?depth=1").content.decode()
    assert middle.invite_code in direct and bottom.invite_code not in direct


# ---------------------------------------------------------------- earnings


def test_earnings_show_balances_commissions_explained_and_level_progress(mall, plan, sku):
    top, bottom = make_chain(2)
    Level.objects.create(name="普通", rank=0, rates_bp=[1000, 500])
    Level.objects.create(name="黄金", rank=1, rates_bp=[1500, 500],
                         conditions={"monthly_gmv_fen": 5_000_000, "direct_recruits": 1})
    order = pay(place(make_shopper(), (sku, 1), referrer=bottom))
    client = client_for(mall, bottom.shopper)

    html = client.get("/me/distribution/earnings/").content.decode()
    assert 'id="balance-pending">9.90<' in html
    assert order.number not in html and order.number[-4:] in html
    assert "¥99.00 × 10% (the plan&#x27;s rates), plan v1" in html
    assert "Next level: 黄金" in html and "¥99.00 / ¥50000.00" in html
    assert 'data-pulse-url="/me/distribution/earnings/pulse/"' in html
    assert "/static/storefront/distribution.js" in html
    top_html = client_for(mall, top.shopper).get("/me/distribution/earnings/").content.decode()
    assert "¥99.00 × 5% (the plan&#x27;s rates), plan v1" in top_html
    assert "Order of your recruit&#x27;s customer" in top_html
    filtered = client.get("/me/distribution/earnings/?status=settled").content.decode()
    assert 'id="commissions-empty"' in filtered


def test_the_calculator_previews_the_active_plan(mall, plan):
    (distributor,) = make_chain(1)
    client = client_for(mall, distributor.shopper)

    html = client.get("/me/distribution/earnings/?price=99&quantity=2").content.decode()
    assert 'data-tier="1">¥19.80<' in html and 'data-tier="2">¥9.90<' in html
    assert "plan v1" in html
    for bad in ("price=abc", "price=0", "price=1.234", "price=99&quantity=x",
                "price=99&quantity=1000"):
        page = client.get(f"/me/distribution/earnings/?{bad}")
        assert page.status_code == 200 and 'id="calc-error"' in page.content.decode(), bad


def test_without_a_plan_the_calculator_says_so(mall, rules):
    (distributor,) = make_chain(1)
    html = client_for(mall, distributor.shopper).get(
        "/me/distribution/earnings/?price=99").content.decode()
    assert 'id="calc-no-plan"' in html


def test_the_pulse_is_json_for_the_distributor_only(mall, plan, sku):
    (distributor,) = make_chain(1)
    client = client_for(mall, distributor.shopper)
    empty = client.get("/me/distribution/earnings/pulse/").json()
    assert empty["latest_id"] is None and empty["balances"]["pending_fen"] == 0

    pay(place(make_shopper(), (sku, 1), referrer=distributor))
    body = client.get("/me/distribution/earnings/pulse/").json()

    assert body["balances"]["pending_fen"] == 990 and body["count"] == 1
    assert "+¥9.90" in body["rows_html"] and 'data-id="' in body["rows_html"]
    anonymous = client_for(mall).get("/me/distribution/earnings/pulse/")
    assert anonymous.status_code == 401 and anonymous.json()["code"] == "not_authenticated"
    stranger = client_for(mall, make_shopper()).get("/me/distribution/earnings/pulse/")
    assert stranger.status_code == 404 and stranger.json()["code"] == "distribution_not_found"


def test_the_pulse_costs_the_same_few_queries_however_many_commissions(mall, plan, sku):
    """It runs every 2 s for each open earnings page: no query per commission."""
    (distributor,) = make_chain(1)
    client = client_for(mall, distributor.shopper)
    pay(place(make_shopper(), (sku, 1), referrer=distributor))
    with CaptureQueriesContext(connection) as one:
        client.get("/me/distribution/earnings/pulse/")
    for _ in range(3):
        pay(place(make_shopper(), (sku, 1), referrer=distributor))
    with CaptureQueriesContext(connection) as four:
        body = client.get("/me/distribution/earnings/pulse/").json()

    assert body["count"] == 4
    # host → mall (3), session, shopper, distributor, balances (2), the newest rows
    assert len(four.captured_queries) == len(one.captured_queries) <= 9
