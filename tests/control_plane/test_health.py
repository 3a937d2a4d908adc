import pytest

from control_plane import health
from core.actors import Actor
from tests.conftest import host_client

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_worker_probe():
    from django.core.cache import cache

    cache.delete(health._WORKER_CACHE_KEY)


def test_healthz_on_public_host_reports_each_dependency(monkeypatch):
    monkeypatch.setattr(health.celery_app.control, "ping", lambda timeout: [{"w@h": "pong"}])
    response = host_client("localhost").get("/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok", "schema": "public", "database": "ok", "redis": "ok", "worker": "ok"
    }


def test_healthz_on_tenant_host_without_worker_is_degraded(make_merchant, monkeypatch):
    merchant = make_merchant().merchant
    monkeypatch.setattr(health.celery_app.control, "ping", lambda timeout: [])
    response = host_client(merchant).get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["worker"] == "down"
    assert body["schema"] == merchant.schema_name


def test_healthz_is_503_when_redis_is_down(monkeypatch):
    def broken(*args, **kwargs):
        raise ConnectionError("redis gone")

    monkeypatch.setattr(health.cache, "set", broken)
    monkeypatch.setattr(health.cache, "get", broken)
    monkeypatch.setattr(health.celery_app.control, "ping", lambda timeout: [{"w@h": "pong"}])
    response = host_client("localhost").get("/healthz")
    assert response.status_code == 503
    assert response.json()["redis"] == "error: ConnectionError"
    assert response.json()["status"] == "down"


def test_healthz_on_a_suspended_mall_still_answers(make_merchant, monkeypatch):
    from tenants import services

    merchant = make_merchant().merchant
    services.merchant_suspend(merchant=merchant, actor=Actor.system())
    monkeypatch.setattr(health.celery_app.control, "ping", lambda timeout: [{"w@h": "pong"}])
    assert host_client(merchant).get("/healthz").status_code == 200
