"""The storefront's funnel counts, against the test run's real Redis: each page sends its
stages in one pipelined round trip, the flush copies them into FunnelDay (twice changes
nothing), malls never mix, and with Redis down the shopper's page is served all the same."""

from __future__ import annotations

import time

import pytest
import redis
from django.conf import settings
from django.db import connection
from django.utils import timezone

from storefront.insights import funnel, tasks
from storefront.insights.models import FunnelDay
from storefront.insights.rollups import business_day
from storefront.insights.selectors import funnel_daily, period_parse
from tests.conftest import host_client
from tests.factories.catalog import SkuFactory


@pytest.fixture
def clean_redis(mall):
    """Today's keys of this mall's schema start empty (schema names repeat across runs)."""
    real = redis.Redis.from_url(settings.REDIS_URL)
    keys = funnel._keys(mall.schema_name, business_day(timezone.now()))
    real.delete(*keys)
    yield real
    real.delete(*keys)


def _browse(client, sku):
    assert client.get("/").status_code == 200
    assert client.get(f"/products/{sku.product_id}/").status_code == 200
    assert client.post("/cart/add/", {"sku_id": sku.pk, "quantity": 1}).status_code == 302


def test_pages_count_their_stages_and_the_flush_copies_them(mall, clean_redis):
    sku = SkuFactory(stock=5)
    shopper_a = host_client(mall)
    _browse(shopper_a, sku)
    shopper_b = host_client(mall)
    shopper_b.defaults["HTTP_USER_AGENT"] = "another phone"
    assert shopper_b.get("/").status_code == 200
    assert host_client(mall).get("/console/login/").status_code == 200  # not a shop page
    assert host_client(mall).get("/api/v1/products/").status_code == 200  # nor an API call

    assert tasks.flush_funnel() == 1
    row = FunnelDay.objects.get(day=business_day(timezone.now()))
    # Visits: home and product page of A (the cart add redirects: a POST is no visit), home
    # of B; product views and cart adds from A only; two distinct visitors.
    assert (row.visits, row.product_views, row.cart_adds, row.visitors) == (3, 1, 1, 2)
    assert tasks.flush_funnel() == 1  # absolute totals: a second run changes nothing
    row.refresh_from_db()
    assert (row.visits, row.product_views, row.cart_adds, row.visitors) == (3, 1, 1, 2)
    today = funnel_daily(period=period_parse("today"))[0]
    assert (today.visits, today.product_views, today.cart_adds) == (3, 1, 1)


def test_the_api_counts_product_views_and_cart_adds(mall, clean_redis):
    sku = SkuFactory(stock=5)
    client = host_client(mall)
    assert client.get(f"/api/v1/products/{sku.product_id}/").status_code == 200
    funnel.funnel_flush()
    row = FunnelDay.objects.get(day=business_day(timezone.now()))
    assert (row.visits, row.product_views) == (0, 1)


def test_one_round_trip_per_page(mall, clean_redis, monkeypatch):
    sent = []
    real = funnel.client()

    class Counting(redis.Redis):
        def execute_command(self, *args, **options):
            sent.append(args[0])
            return super().execute_command(*args, **options)

    counting = Counting(connection_pool=real.connection_pool)
    monkeypatch.setattr(funnel, "client", lambda: counting)
    sku = SkuFactory(stock=5)
    assert host_client(mall).get(f"/products/{sku.product_id}/").status_code == 200
    assert sent == ["EVALSHA"]
    funnel.funnel_flush()
    row = FunnelDay.objects.get(day=business_day(timezone.now()))
    assert (row.visits, row.product_views, row.visitors) == (1, 1, 1)


def test_malls_keep_their_own_counts(mall, other_mall, clean_redis):
    connection.set_tenant(mall)
    other_keys = funnel._keys(other_mall.schema_name, business_day(timezone.now()))
    clean_redis.delete(*other_keys)  # schema names repeat across test runs
    assert host_client(mall).get("/").status_code == 200
    assert clean_redis.hget(other_keys[0], "visits") is None
    assert clean_redis.hget(funnel._keys(mall.schema_name,
                                         business_day(timezone.now()))[0], "visits") == b"1"


def test_redis_down_the_page_is_served_and_nothing_counted(mall, clean_redis, monkeypatch,
                                                           settings):
    real_url = settings.REDIS_URL
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    monkeypatch.setattr(funnel, "_client", None)
    monkeypatch.setattr(funnel, "_paused_until", [0.0])
    sku = SkuFactory(stock=5)
    started = time.monotonic()
    response = host_client(mall).get(f"/products/{sku.product_id}/")
    assert response.status_code == 200
    assert time.monotonic() - started < 1
    # Paused after the failure: the next pages do not even try.
    assert funnel.funnel_record(stages=["visits"], visitor="x") is False
    with pytest.raises(redis.ConnectionError):
        funnel.funnel_flush()  # the task fails loudly and beat runs it again next minute
    monkeypatch.setattr(funnel, "_client", None)
    settings.REDIS_URL = real_url
    assert funnel.funnel_flush() == 0  # the failed page's count was lost, nothing else
    assert not FunnelDay.objects.exists()


def test_the_flush_runs_every_minute_in_every_mall():
    entry = settings.CELERY_BEAT_SCHEDULE["insights-flush-funnel"]
    assert entry["task"] == "storefront.insights.tasks.flush_funnel"
    assert entry["schedule"] == 60.0 and "tenant_schemas" not in entry
