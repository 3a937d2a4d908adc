"""The console's overview: who sees the figures (pages, JSON endpoints and staff API, role by
role), pinned query counts with sales present, bad period and network input, and the
network graph's drill-down."""

from __future__ import annotations

import pytest

from tests.conftest import host_client
from tests.distribution.conftest import make_chain, make_shopper
from tests.insights.conftest import pay, place, refund, selling_mall  # noqa: F401

ENDPOINTS = ["/console/dashboard/sales.json", "/console/dashboard/funnel.json",
             "/console/dashboard/network.json"]
API = ["/api/v1/console/dashboard/sales/", "/api/v1/console/dashboard/funnel/",
       "/api/v1/console/dashboard/network/"]
SEES_FIGURES = {"owner": True, "admin": True, "operations": True, "finance": True,
                "customer_service": False}


@pytest.fixture
def sold(selling_mall):  # noqa: F811
    m = selling_mall
    order = pay(place(m["buyer"], (m["mug"], 2), (m["tea"], 1), referrer=m["bottom"]))
    pay(place(m["other"], (m["tea"], 3)))
    refund(order, quantity=1)
    return m


def test_anonymous_is_sent_to_sign_in_and_refused_by_the_api(mall_client):
    for url in ["/console/", *ENDPOINTS]:
        response = mall_client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/console/login/")
    for url in API:
        assert mall_client.get(url).status_code == 403


@pytest.mark.parametrize("role", list(SEES_FIGURES))
def test_each_role_sees_the_figures_exactly_as_its_permissions_say(sold, staff_client, role):
    client = staff_client(role)
    home = client.get("/console/")
    assert home.status_code == 200
    assert (b'id="stat-gmv"' in home.content) is SEES_FIGURES[role]
    assert (b"vendor/echarts/echarts.min.js" in home.content) is SEES_FIGURES[role]
    expected = 200 if SEES_FIGURES[role] else 403
    for url in ENDPOINTS + API:
        assert client.get(url).status_code == expected, url


def test_staff_of_another_mall_is_nobody_here(mall, other_mall, make_merchant):
    from django.contrib.auth import get_user_model
    from django.db import connection

    connection.set_tenant(other_mall)
    owner = get_user_model().objects.get(is_superuser=True)
    theirs = host_client(other_mall)
    theirs.force_login(owner)
    connection.set_tenant(mall)
    ours = host_client(mall)
    ours.cookies = theirs.cookies
    for url in ENDPOINTS:
        assert ours.get(url).status_code == 302
    for url in API:
        assert ours.get(url).status_code == 403


def test_the_home_shows_the_periods_figures(sold, staff_client):
    page = staff_client("owner").get("/console/?period=today").content.decode()
    # 25,300 + 14,500 fen paid; 9,900 refunded (one mug).
    assert "¥398.00" in page and 'id="stat-orders">2<' in page
    assert "¥99.00" in page and "24.87%" in page
    assert "Mug" in page and "Tea" in page
    assert sold["bottom"].invite_code in page


def test_the_sales_endpoint_and_the_api_answer_the_same(sold, staff_client):
    client = staff_client("finance")
    page = client.get("/console/dashboard/sales.json?period=7d").json()
    api = client.get("/api/v1/console/dashboard/sales/?period=7d").json()
    assert page == api
    assert page["summary"]["gmv_fen"] == 39800 and len(page["daily"]) == 7
    by_commission = client.get("/console/dashboard/sales.json?by=commission").json()
    assert by_commission["top_distributors"][0]["commission_fen"] > 0


def test_home_queries_are_fixed_whatever_the_sales(sold, staff_client,
                                                   django_assert_num_queries):
    # More goods, buyers and distributors: the count must not grow with them.
    m = sold
    for _ in range(3):
        shopper = make_shopper()
        pay(place(shopper, (m["mug"], 1), (m["tea"], 1), referrer=m["top"]))
    client = staff_client("owner")
    client.get("/console/")  # sessions, permissions caches warm
    # session, user, permissions (groups + user perms), compliance count, the period's
    # days, distinct shoppers, top goods + titles, top distributors + names, mall context.
    with django_assert_num_queries(HOME_QUERIES):
        assert client.get("/console/?period=30d").status_code == 200
    with django_assert_num_queries(SALES_JSON_QUERIES):
        assert client.get("/console/dashboard/sales.json?period=30d").status_code == 200
    with django_assert_num_queries(FUNNEL_JSON_QUERIES):
        assert client.get("/console/dashboard/funnel.json?period=30d").status_code == 200
    with django_assert_num_queries(NETWORK_JSON_QUERIES):
        assert client.get("/console/dashboard/network.json").status_code == 200


HOME_QUERIES = 13
SALES_JSON_QUERIES = 11
FUNNEL_JSON_QUERIES = 7
NETWORK_JSON_QUERIES = 7


@pytest.mark.parametrize(("query", "field"), [
    ("period=week", "period"), ("period=", None), ("period=30", "period"),
    ("period=%00", "period"), ("by=clicks", "by"),
])
def test_bad_period_input_is_a_clear_400(sold, staff_client, query, field):
    client = staff_client("owner")
    for url in ("/console/dashboard/sales.json", "/api/v1/console/dashboard/sales/"):
        response = client.get(f"{url}?{query}")
        if field is None:  # an empty period is the default (today)
            assert response.status_code == 200
            continue
        assert response.status_code == 400, (url, query)
        body = response.json()
        assert field in body["fields"] and body["message"]
    if field == "period":
        page = client.get(f"/console/?{query}")
        assert page.status_code == 400
        assert b'id="period-error"' in page.content and b'id="stat-gmv"' in page.content
        funnel = client.get(f"/console/dashboard/funnel.json?{query}")
        assert funnel.status_code == 400 and funnel.json()["code"] == "invalid_period"


@pytest.mark.parametrize("query", ["limit=0", "limit=501", "limit=many", "root=abc",
                                   "root=-3", "root=999999"])
def test_bad_network_input_is_a_clear_400(mall, staff_client, query):
    client = staff_client("operations")
    for url in ("/console/dashboard/network.json", "/api/v1/console/dashboard/network/"):
        response = client.get(f"{url}?{query}")
        assert response.status_code == 400, (url, query)
        assert response.json()["message"]


def test_the_network_starts_at_the_top_and_drills_into_a_downline(mall, staff_client):
    top, middle, bottom, lowest = make_chain(4)
    client = staff_client("owner")
    start = client.get("/console/dashboard/network.json").json()
    assert [n["id"] for n in start["nodes"]] == [top.pk, middle.pk]
    assert start["links"] == [{"source": top.pk, "target": middle.pk}]
    assert start["nodes"][1]["recruits"] == 1  # the graph offers to open the middle one
    drilled = client.get(f"/console/dashboard/network.json?root={middle.pk}").json()
    assert [n["id"] for n in drilled["nodes"]] == [middle.pk, bottom.pk, lowest.pk]
    assert drilled["root"] == middle.pk and not drilled["truncated"]
    limited = client.get(f"/console/dashboard/network.json?root={top.pk}&limit=2").json()
    assert len(limited["nodes"]) == 2 and limited["truncated"]
