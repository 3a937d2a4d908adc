import pytest
from django.test import Client

from tenants.models import Merchant
from tests.conftest import OWNER_PASSWORD, ensure_default_plan

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser(db):
    ensure_default_plan()
    return Client(HTTP_HOST="localhost", HTTP_ACCEPT_LANGUAGE="en")


def test_landing_and_signup_form_render(browser):
    assert browser.get("/").status_code == 200
    page = browser.get("/signup/")
    assert page.status_code == 200
    assert 'name="slug"' in page.content.decode()


def test_page_signup_signs_owner_in_on_their_own_host(browser):
    response = browser.post(
        "/signup/",
        {"name": "Noodle Bar", "slug": "noodle-bar", "owner_email": "chef@example.com",
         "password": OWNER_PASSWORD},
    )
    assert response.status_code == 302
    handoff_url = response["Location"]
    assert handoff_url.startswith("http://noodle-bar.localhost:8000/console/handoff/?t=")

    mall = Client(HTTP_HOST="noodle-bar.localhost")
    path = handoff_url.split("localhost:8000", 1)[1]
    landed = mall.get(path)
    assert landed.status_code == 302
    assert landed["Location"] == "/console/"
    console = mall.get("/console/")
    assert console.status_code == 200
    assert "Noodle Bar" in console.content.decode()

    # the link works once only, and only on its own mall
    assert Client(HTTP_HOST="noodle-bar.localhost").get(path)["Location"].startswith(
        "/console/login/"
    )


def test_handoff_token_for_one_mall_is_refused_by_another(browser, make_merchant):
    other = make_merchant().merchant
    response = browser.post(
        "/signup/",
        {"name": "Noodle Bar", "slug": "noodle-bar", "owner_email": "chef@example.com",
         "password": OWNER_PASSWORD},
    )
    path = response["Location"].split("localhost:8000", 1)[1]
    stranger = Client(HTTP_HOST=other.primary_host.split(":")[0])
    assert stranger.get(path)["Location"].startswith("/console/login/")
    assert stranger.get("/console/").status_code == 302


def test_page_signup_shows_field_errors(browser):
    response = browser.post(
        "/signup/",
        {"name": "Noodle Bar", "slug": "admin", "owner_email": "chef@example.com",
         "password": OWNER_PASSWORD},
    )
    assert response.status_code == 400
    assert "reserved" in response.content.decode()
    assert not Merchant.objects.exists()


def test_page_signup_taken_slug_is_409(browser, make_merchant):
    make_merchant(slug="noodle-bar")
    response = browser.post(
        "/signup/",
        {"name": "Noodle Bar", "slug": "noodle-bar", "owner_email": "chef@example.com",
         "password": OWNER_PASSWORD},
    )
    assert response.status_code == 409
    assert "already taken" in response.content.decode()


def test_openapi_schema_lists_signup(browser):
    response = browser.get("/api/schema/")
    assert response.status_code == 200
    assert b"/api/v1/merchants/" in response.content


def test_a_malls_openapi_schema_covers_its_apis(make_merchant):
    from tests.conftest import host_client

    merchant = make_merchant().merchant
    response = host_client(merchant).get("/api/schema/")
    assert response.status_code == 200
    body = response.content.decode()
    for path in ("/api/v1/products/", "/api/v1/orders/", "/api/v1/cart/", "/api/v1/payments/",
                 "/api/v1/me/addresses/", "/api/v1/console/products/",
                 "/api/v1/console/orders/", "/api/v1/console/wechat-pay/"):
        assert path in body, path
    assert "/api/v1/merchants/" not in body  # the platform's own API is on its own host
    docs = host_client(merchant).get("/api/docs/")
    assert docs.status_code == 200
    assert "cdn.jsdelivr" not in docs.content.decode()  # assets are served locally
