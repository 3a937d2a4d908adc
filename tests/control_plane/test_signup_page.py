import re

import pytest
from django.test import Client
from django.utils.http import urlencode

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


SIGNUP = {"name": "Noodle Bar", "slug": "noodle-bar", "owner_email": "chef@example.com",
          "password": OWNER_PASSWORD}


def handoff_form(response) -> tuple[str, str]:
    """The hand-off page's form: where it posts and the token it carries."""
    html = response.content.decode()
    action = re.search(r'<form[^>]*id="handoff"[^>]*method="post"[^>]*action="([^"]+)"', html)
    token = re.search(r'<input type="hidden" name="t" value="([^"]+)"', html)
    return action[1], token[1]


def test_page_signup_signs_owner_in_on_their_own_host(browser):
    response = browser.post("/signup/", SIGNUP)

    # An auto-submitted POST form to the mall's host, not a redirect with the token.
    assert response.status_code == 200
    assert not response.has_header("Location")
    assert "no-store" in response["Cache-Control"]
    action, token = handoff_form(response)
    assert action == "http://noodle-bar.localhost:8000/console/handoff/"
    assert "document.getElementById(\"handoff\").submit()" in response.content.decode()
    # The token is in no URL: no link, form action or source on the page carries it.
    urls = re.findall(r'(?:href|action|src)="([^"]*)"', response.content.decode())
    assert urls and not [url for url in urls if token in url or "t=" in url]

    mall = Client(HTTP_HOST="noodle-bar.localhost")
    landed = mall.post("/console/handoff/", {"t": token}, HTTP_ORIGIN="http://localhost:8000")
    assert landed.status_code == 302
    assert landed["Location"] == "/console/"
    console = mall.get("/console/")
    assert console.status_code == 200
    assert "Noodle Bar" in console.content.decode()

    # The token works once only.
    replay = Client(HTTP_HOST="noodle-bar.localhost")
    assert replay.post("/console/handoff/", {"t": token})["Location"].startswith(
        "/console/login/"
    )
    assert replay.get("/console/").status_code == 302


def test_the_handoff_token_is_not_accepted_in_a_query_string(browser):
    _, token = handoff_form(browser.post("/signup/", SIGNUP))
    mall = Client(HTTP_HOST="noodle-bar.localhost")

    assert mall.get(f"/console/handoff/?{urlencode({'t': token})}").status_code == 405
    assert mall.get("/console/").status_code == 302
    # Still unused: the POST signs in.
    assert mall.post("/console/handoff/", {"t": token})["Location"] == "/console/"


def test_a_forged_handoff_token_is_refused(browser):
    _, token = handoff_form(browser.post("/signup/", SIGNUP))
    mall = Client(HTTP_HOST="noodle-bar.localhost")
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")

    assert mall.post("/console/handoff/", {"t": forged})["Location"].startswith(
        "/console/login/"
    )
    assert mall.post("/console/handoff/", {})["Location"].startswith("/console/login/")
    assert mall.get("/console/").status_code == 302


def test_handoff_token_for_one_mall_is_refused_by_another(browser, make_merchant):
    other = make_merchant().merchant
    _, token = handoff_form(browser.post("/signup/", SIGNUP))
    stranger = Client(HTTP_HOST=other.primary_host.split(":")[0])
    assert stranger.post("/console/handoff/", {"t": token})["Location"].startswith(
        "/console/login/"
    )
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
