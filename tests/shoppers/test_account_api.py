"""The account API: code request, sign-in, profile, sign-out, CSRF, and its schema."""

from __future__ import annotations

import json

import pytest

from storefront.shoppers.models import Address, LoginCode, Shopper
from storefront.web.shopper_session import SESSION_KEY
from tests.conftest import host_client

from .conftest import csrf_client, sign_in

PHONE = "13612345678"

pytestmark = pytest.mark.django_db


def post_json(client, url, data, **extra):
    return client.post(url, json.dumps(data), content_type="application/json", **extra)


def test_code_login_me_logout(mall, mall_client, outbox):
    sent = post_json(mall_client, "/api/v1/auth/code/", {"agree": True, "phone": PHONE})
    assert sent.status_code == 202, sent.json()
    assert sent.json() == {"phone_masked": "136****5678", "expires_in": 300, "resend_after": 60}

    login = post_json(
        mall_client, "/api/v1/auth/login/",
        {"agree": True, "phone": PHONE, "code": outbox.last_code(PHONE)},
    )

    assert login.status_code == 200, login.json()
    shopper = Shopper.objects.get(phone=PHONE)
    assert login.json()["id"] == shopper.pk
    assert login.json()["phone_masked"] == "136****5678"
    assert "phone" not in login.json()
    assert "sessionid" in login.cookies and "csrftoken" in login.cookies
    me = mall_client.get("/api/v1/me/")
    assert me.status_code == 200
    assert me.json()["share_code"] == shopper.share_code
    assert me.json()["wechat_linked"] is False

    assert mall_client.post("/api/v1/auth/logout/").status_code == 204
    assert mall_client.get("/api/v1/me/").status_code == 401
    assert mall_client.post("/api/v1/auth/logout/").status_code == 204  # idempotent


def test_wrong_code_answers_the_field(mall_client, outbox):
    post_json(mall_client, "/api/v1/auth/code/", {"agree": True, "phone": PHONE})
    code = outbox.last_code(PHONE)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"

    response = post_json(
        mall_client, "/api/v1/auth/login/", {"agree": True, "phone": PHONE, "code": wrong}
    )

    assert response.status_code == 400
    assert response.json() == {
        "code": "login_code_wrong",
        "message": "This code is not right. 4 attempts left.",
        "fields": {"code": ["This code is not right. 4 attempts left."]},
    }
    assert SESSION_KEY not in mall_client.session


def test_no_code_requested_is_expired(mall_client):
    response = post_json(
        mall_client, "/api/v1/auth/login/", {"agree": True, "phone": PHONE, "code": "123456"}
    )
    assert response.status_code == 400
    assert response.json()["code"] == "login_code_expired"


def test_rate_limit_is_429_with_retry_after(mall_client, outbox):
    post_json(mall_client, "/api/v1/auth/code/", {"agree": True, "phone": PHONE})
    response = post_json(mall_client, "/api/v1/auth/code/", {"agree": True, "phone": PHONE})
    assert response.status_code == 429
    assert response.json()["code"] == "login_code_rate_limited"
    assert 1 <= int(response["Retry-After"]) <= 60
    assert len(outbox.outbox) == 1


def test_invalid_phone_is_400(mall_client, outbox):
    response = post_json(mall_client, "/api/v1/auth/code/", {"agree": True, "phone": "1234"})
    assert response.status_code == 400
    assert response.json()["code"] == "phone_invalid"
    assert list(response.json()["fields"]) == ["phone"]
    missing = post_json(mall_client, "/api/v1/auth/code/", {})
    assert missing.status_code == 400 and list(missing.json()["fields"]) == ["phone"]
    assert not LoginCode.objects.exists()


def test_sign_in_endpoints_take_json_only(mall_client, outbox):
    """A cross-site HTML form cannot send JSON, so it cannot sign a visitor in as someone
    else (login CSRF) nor spend the mall's text messages."""
    response = mall_client.post("/api/v1/auth/code/", {"agree": True, "phone": PHONE})
    assert response.status_code == 415
    assert outbox.outbox == []


def test_api_writes_need_the_csrf_token_when_a_session_cookie_is_present(mall, shopper):
    client = sign_in(csrf_client(mall), shopper)
    address = {"recipient": "李四", "phone": "13800001111", "province": "浙江", "city": "杭州",
               "detail": "文三路 100 号"}

    refused = post_json(client, "/api/v1/me/addresses/", address)
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["message"]
    assert not Address.objects.exists()
    assert post_json(client, "/api/v1/auth/logout/", {}).status_code == 403
    assert client.session[SESSION_KEY] == shopper.pk

    client.get("/me/")  # a page with a form sets the csrftoken cookie
    token = client.cookies["csrftoken"].value
    accepted = post_json(client, "/api/v1/me/addresses/", address, HTTP_X_CSRFTOKEN=token)
    assert accepted.status_code == 201
    assert client.get("/api/v1/me/addresses/").status_code == 200  # reads need no token


def test_an_anonymous_session_also_needs_the_token(mall, outbox):
    client = csrf_client(mall)
    client.get("/?ref=someone")  # an anonymous session cookie now exists
    assert "sessionid" in client.cookies
    refused = post_json(client, "/api/v1/auth/code/", {"agree": True, "phone": PHONE})
    assert refused.status_code == 403
    assert outbox.outbox == []


def test_login_page_post_needs_the_csrf_token(mall, outbox):
    client = csrf_client(mall)
    response = client.post("/login/", {"agree": "on", "action": "send", "phone": PHONE})
    assert response.status_code == 403
    assert outbox.outbox == []


def test_the_schema_describes_the_account_api(mall):
    schema = host_client(mall).get("/api/schema/", HTTP_ACCEPT="application/json")
    assert schema.status_code == 200
    paths = json.loads(schema.content)["paths"]
    for path in ("/api/v1/auth/code/", "/api/v1/auth/login/", "/api/v1/auth/logout/",
                 "/api/v1/me/", "/api/v1/me/addresses/", "/api/v1/me/addresses/{address_id}/",
                 "/api/v1/me/addresses/{address_id}/default/"):
        assert path in paths, path
    assert "429" in paths["/api/v1/auth/code/"]["post"]["responses"]
