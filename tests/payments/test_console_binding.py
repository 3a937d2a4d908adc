"""The owner connects WeChat Pay from the console; the secret never comes back."""

import pytest
from django.contrib.auth import get_user_model

from tenants.models import WeChatBinding
from tests.conftest import OWNER_PASSWORD

SECRET = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def owner(mall_client):
    mall_client.post("/console/login/", {"username": "owner@example.com",
                                         "password": OWNER_PASSWORD})
    return mall_client


def test_owner_connects_wechat_pay_from_the_page(owner, mall, wechat_settings, sub_merchant):
    response = owner.post("/console/wechat-pay/", {
        "sub_mchid": sub_merchant["sub_mchid"], "sub_appid": sub_merchant["sub_appid"],
        "app_secret": SECRET,
    })
    assert response.status_code == 302
    binding = WeChatBinding.objects.get(merchant=mall)
    assert binding.status == "pending"
    page = owner.get("/console/wechat-pay/").content.decode()
    assert sub_merchant["sub_mchid"] in page
    assert SECRET not in page
    assert binding.app_secret_encrypted not in page


def test_unverifiable_number_shows_an_error_and_saves_nothing(owner, mall, wechat_settings):
    response = owner.post("/console/wechat-pay/", {"sub_mchid": "1999999999",
                                                   "sub_appid": "wx" + "a" * 16})
    assert response.status_code == 422
    assert not WeChatBinding.objects.exists()


def test_api_never_returns_the_secret(owner, mall, wechat_settings, sub_merchant):
    response = owner.put("/api/v1/console/wechat-pay/", {
        "sub_mchid": sub_merchant["sub_mchid"], "sub_appid": sub_merchant["sub_appid"],
        "app_secret": SECRET,
    }, content_type="application/json", HTTP_X_CSRFTOKEN=owner.cookies["csrftoken"].value)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["has_app_secret"] is True
    assert SECRET not in response.content.decode()
    assert owner.get("/api/v1/console/wechat-pay/").json()["sub_mchid"] == sub_merchant[
        "sub_mchid"
    ]


def test_staff_who_are_not_the_owner_cannot_change_it(mall_client, mall, wechat_settings):
    get_user_model().objects.create_user(
        username="clerk@example.com", password=OWNER_PASSWORD, is_staff=True
    )
    mall_client.post("/console/login/", {"username": "clerk@example.com",
                                         "password": OWNER_PASSWORD})
    assert mall_client.get("/console/wechat-pay/").status_code == 403
    assert mall_client.get("/api/v1/console/wechat-pay/").status_code == 403
