"""zh-hans first: a visitor without a language preference gets Chinese, English on request."""

import pytest

from tests.conftest import host_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def chinese_default(settings):
    settings.LANGUAGE_CODE = "zh-hans"


def test_public_site_is_chinese_by_default(chinese_default):
    page = host_client("localhost").get("/signup/")
    assert "开通您的商城" in page.content.decode()


def test_english_on_request(chinese_default):
    page = host_client("localhost").get("/signup/", HTTP_ACCEPT_LANGUAGE="en")
    assert "Open your mall" in page.content.decode()


def test_mall_pages_are_chinese_for_a_chinese_phone(chinese_default, make_merchant):
    merchant = make_merchant(name="茶馆").merchant
    page = host_client(merchant).get("/", HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9")
    html = page.content.decode()
    assert page.status_code == 200
    assert "购物车" in html
    assert "Cart" not in html
