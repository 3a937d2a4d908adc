"""Cross-tenant access is impossible by construction: rows, sessions, CSRF, cache."""

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import connection
from django_tenants.utils import schema_context

from tests.conftest import OWNER_PASSWORD, host_client

pytestmark = pytest.mark.django_db

User = get_user_model()


def test_a_row_in_tenant_a_is_invisible_from_b(two_merchants):
    alpha, beta = (result.merchant for result in two_merchants)
    with schema_context(alpha.schema_name):
        User.objects.create_user(username="clerk@alpha.test", email="clerk@alpha.test")
    with schema_context(beta.schema_name):
        assert not User.objects.filter(username="clerk@alpha.test").exists()
        assert User.objects.count() == 1  # only Beta's own owner
    with schema_context(alpha.schema_name):
        assert User.objects.filter(username="clerk@alpha.test").exists()


def test_session_cookie_from_a_is_refused_on_b(two_merchants):
    alpha, beta = (result.merchant for result in two_merchants)
    alpha_client = host_client(alpha)
    response = alpha_client.post(
        "/console/login/", {"username": "owner@example.com", "password": OWNER_PASSWORD}
    )
    assert response.status_code == 302
    session_cookie = alpha_client.cookies["sessionid"].value
    assert alpha_client.get("/console/").status_code == 200

    beta_client = host_client(beta)
    beta_client.cookies["sessionid"] = session_cookie
    response = beta_client.get("/console/")

    assert response.status_code == 302
    assert response["Location"].startswith("/console/login/")


def test_same_credentials_are_separate_accounts_per_mall(two_merchants):
    """Both owners signed up as owner@example.com; changing one changes nothing in the other."""
    alpha, beta = (result.merchant for result in two_merchants)
    with schema_context(alpha.schema_name):
        owner = User.objects.get(username="owner@example.com")
        owner.set_password("a-different-secret-77")
        owner.save()
    response = host_client(beta).post(
        "/console/login/", {"username": "owner@example.com", "password": OWNER_PASSWORD}
    )
    assert response.status_code == 302


def test_csrf_token_from_a_is_refused_on_b(two_merchants):
    alpha, beta = (result.merchant for result in two_merchants)
    alpha_client = host_client(alpha)
    alpha_client.handler.enforce_csrf_checks = True
    alpha_client.get("/console/login/")
    csrf = alpha_client.cookies["csrftoken"].value

    beta_client = host_client(beta)
    beta_client.handler.enforce_csrf_checks = True
    response = beta_client.post(
        "/console/login/",
        {"username": "owner@example.com", "password": OWNER_PASSWORD,
         "csrfmiddlewaretoken": csrf},
    )
    assert response.status_code == 403


def test_cache_keys_are_per_tenant(two_merchants):
    alpha, beta = (result.merchant for result in two_merchants)
    with schema_context(alpha.schema_name):
        cache.set("greeting", "alpha", 30)
    with schema_context(beta.schema_name):
        assert cache.get("greeting") is None
    with schema_context(alpha.schema_name):
        assert cache.get("greeting") == "alpha"
        cache.delete("greeting")
    connection.set_schema_to_public()


def test_unknown_host_gets_friendly_404(db):
    response = host_client("nobody-here.localhost").get("/")
    assert response.status_code == 404
    assert "There is no mall at this address" in response.content.decode() or (
        "nobody-here.localhost" in response.content.decode()
    )


def test_staff_only_console(make_merchant):
    result = make_merchant()
    with schema_context(result.merchant.schema_name):
        User.objects.create_user(
            username="shopper@example.com", email="shopper@example.com", password=OWNER_PASSWORD
        )
    client = host_client(result.merchant)
    response = client.post(
        "/console/login/", {"username": "shopper@example.com", "password": OWNER_PASSWORD}
    )
    assert response.status_code == 200  # form redisplayed with an error
    assert client.get("/console/").status_code == 302
