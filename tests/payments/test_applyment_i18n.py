"""The WeChat Pay application page (特约商户进件) is shown in Chinese, and so are the
messages the application's checks give the owner: a Chinese owner is not left with English
field errors under Chinese labels."""

from __future__ import annotations

import pytest

from tenants.models import WeChatApplyment
from tests.conftest import OWNER_PASSWORD
from tests.payments.test_applyment import APPLICATION, URL

pytestmark = pytest.mark.django_db

CHINESE = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}


@pytest.fixture
def owner(mall_client, mall):
    mall_client.post("/console/login/", {"username": "owner@example.com",
                                         "password": OWNER_PASSWORD})
    return mall_client


def test_a_chinese_owner_gets_the_application_errors_in_chinese(owner, mall, wechat_settings):
    response = owner.post(URL, {**APPLICATION, "id_card_number": "12345",
                                "bank_address_code": "4403", "action": "save"}, **CHINESE)
    assert response.status_code == 400
    page = response.content.decode()
    assert "营业执照注册号" in page  # the labels were Chinese already
    assert "身份证号码为 18 位：17 位数字加 1 位数字或 X。" in page
    assert "省市编码为 6 位数字。" in page
    assert "An ID card number is 18 characters" not in page
    assert "An area code is 6 digits." not in page
    assert not WeChatApplyment.objects.exists()

    # An incomplete draft is saved; submitting it names, in Chinese, what is missing.
    response = owner.post(URL, {"subject_type": "SUBJECT_TYPE_ENTERPRISE",
                                "merchant_shortname": "店", "action": "submit"}, **CHINESE)
    assert response.status_code == 302
    page = owner.get(URL, **CHINESE).content.decode()
    assert "申请资料不完整。" in page
    assert "营业执照注册号: 提交前必须填写。" in page
    assert "提交前请上传此图片。" in page
    assert "Required to submit." not in page
