"""One client-address rule for every per-IP limit: the socket's address unless trusted
proxies are configured (TRUSTED_PROXY_COUNT), so a forged X-Forwarded-For resets nothing."""

from __future__ import annotations

import uuid

import pytest
from django.test import Client, RequestFactory

from control_plane.client_ip import client_ip
from tenants.models import Merchant
from tests.conftest import OWNER_PASSWORD, ensure_default_plan


def random_address() -> str:
    """The throttles count in the real Redis, which outlives a test run: a fresh address
    per test keeps the counts apart."""
    number = uuid.uuid4().int
    return f"10.{number % 250}.{number // 250 % 250}.{number // 62500 % 250 + 1}"


def request_from(remote: str, forwarded: str | None = None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


def test_without_trusted_proxies_the_socket_address_is_the_client(settings):
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_ip(request_from("198.51.100.9", "203.0.113.1")) == "198.51.100.9"
    assert client_ip(request_from("198.51.100.9")) == "198.51.100.9"


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (1, "6.6.6.6, 203.0.113.7", "203.0.113.7"),
        (1, "203.0.113.7", "203.0.113.7"),
        (2, "6.6.6.6, 203.0.113.7, 10.0.0.2", "203.0.113.7"),
        (2, "203.0.113.7", "203.0.113.7"),  # fewer entries than proxies: the left-most
        (1, "", "10.0.0.1"),  # no header: the socket's address
    ],
)
def test_with_trusted_proxies_the_nth_address_from_the_right_is_the_client(
    settings, proxies, forwarded, expected
):
    settings.TRUSTED_PROXY_COUNT = proxies
    assert client_ip(request_from("10.0.0.1", forwarded)) == expected


def test_settings_give_drf_the_same_proxy_count():
    from django.conf import settings

    assert settings.REST_FRAMEWORK["NUM_PROXIES"] == settings.TRUSTED_PROXY_COUNT


@pytest.mark.django_db
def test_forged_forwarded_for_does_not_reset_the_signup_api_limit(settings):
    settings.SIGNUP_THROTTLE_RATE = "2/hour"
    browser = Client(HTTP_HOST="localhost", REMOTE_ADDR=random_address())
    statuses = [
        browser.post(
            "/api/v1/merchants/", {}, content_type="application/json",
            HTTP_X_FORWARDED_FOR=f"203.0.113.{attempt}",
        ).status_code
        for attempt in range(1, 4)
    ]
    assert statuses == [400, 400, 429]


@pytest.mark.django_db
def test_forged_forwarded_for_does_not_reset_the_signup_page_limit(settings):
    ensure_default_plan()
    settings.SIGNUP_THROTTLE_RATE = "1/hour"
    browser = Client(HTTP_HOST="localhost", REMOTE_ADDR=random_address())

    def sign_up(slug: str, forged: str):
        return browser.post(
            "/signup/",
            {"name": "Tea House", "slug": slug, "owner_email": "boss@example.com",
             "password": OWNER_PASSWORD},
            HTTP_X_FORWARDED_FOR=forged,
        )

    assert sign_up("tea-house", "203.0.113.1").status_code in (200, 302)
    refused = sign_up("tea-house-two", "203.0.113.2")
    assert refused.status_code == 429
    assert list(Merchant.objects.values_list("slug", flat=True)) == ["tea-house"]


@pytest.mark.django_db
def test_behind_one_trusted_proxy_its_appended_address_is_counted(settings):
    settings.SIGNUP_THROTTLE_RATE = "2/hour"
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = Client(HTTP_HOST="localhost", REMOTE_ADDR="10.0.0.1")
    client, neighbour = random_address(), random_address()

    def post(forwarded: str) -> int:
        return proxy.post(
            "/api/v1/merchants/", {}, content_type="application/json",
            HTTP_X_FORWARDED_FOR=forwarded,
        ).status_code

    # The client forges the left part; the proxy appends the address it saw.
    assert [post(f"6.6.6.{n}, {client}") for n in range(1, 4)] == [400, 400, 429]
    # Another client behind the same proxy has its own count.
    assert post(f"6.6.6.1, {neighbour}") == 400
