"""The centre's withdrawal page: yuan typed, fen kept; the engine's refusals worded for
the shopper; the real name from ¥2,000; and a transfer confirmed in WeChat (the
simulator's user confirms, WeChat's bill query settles the withdrawal)."""

from __future__ import annotations

import hashlib
import json
import re

import pytest
import requests

from storefront.distribution import services
from storefront.distribution.models import Withdrawal
from storefront.distribution.withdrawals import withdrawable_fen, withdrawal_send
from storefront.payments import transfers
from storefront.payments.models import Transfer
from tests.conftest import host_client
from tests.distribution.conftest import make_chain, make_shopper
from tests.distribution.test_withdrawals import fund, seasoned, setup_rules
from tests.payments.conftest import (  # noqa: F401 - the WeChat simulator's fixtures
    paying_mall,
    sim,
    sub_merchant,
    wechat_settings,
    wechat_sim,
)
from tests.shoppers.conftest import sign_in

pytestmark = pytest.mark.django_db

PAGE = "/me/distribution/withdrawals/"
WECHAT_UA = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
             "(KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.50 NetType/WIFI")


@pytest.fixture
def funded(mall):
    setup_rules()
    (distributor,) = make_chain(1)
    fund(distributor, 5000)
    return seasoned(distributor)


def page_of(mall, distributor):
    return sign_in(host_client(mall), distributor.shopper)


def test_the_page_shows_the_balance_and_the_rules(mall, funded):
    html = page_of(mall, funded).get(PAGE).content.decode()
    assert 'id="withdrawable">¥50.00<' in html
    assert "At least ¥1.00 each time, at most 3 withdrawals and ¥20000.00 a day." in html
    assert 'id="real-name-field" hidden' in html and 'id="withdrawals-empty"' in html


def test_yuan_typed_become_fen(mall, funded):
    client = page_of(mall, funded)
    response = client.post(PAGE, {"amount": "12.34"})

    assert response.status_code == 302 and response["Location"] == PAGE
    withdrawal = Withdrawal.objects.get(distributor=funded)
    assert (withdrawal.amount_fen, withdrawal.status) == (1234, "transferring")
    assert withdrawable_fen(funded.pk) == 5000 - 1234
    html = client.get(PAGE).content.decode()
    assert "Being transferred" in html and "¥12.34" in html


@pytest.mark.parametrize(("amount", "status", "words"), [
    ("abc", 400, "Enter an amount in yuan"),
    ("1.234", 400, "Enter an amount in yuan"),
    ("-5", 400, "Enter an amount in yuan"),
    ("", 400, "This field is required."),
    ("0", 400, "The amount must be more than zero."),
    ("0.50", 400, "The least you can withdraw is ¥1.00."),
    ("60", 400, "You can withdraw at most ¥50.00."),
])
def test_refusals_are_shown_and_change_nothing(mall, funded, amount, status, words):
    response = page_of(mall, funded).post(PAGE, {"amount": amount})

    assert response.status_code == status
    assert words in response.content.decode()
    assert not Withdrawal.objects.exists() and withdrawable_fen(funded.pk) == 5000


def test_refusals_read_in_chinese_in_yuan(mall, funded):
    response = page_of(mall, funded).post(PAGE, {"amount": "60"},
                                          HTTP_ACCEPT_LANGUAGE="zh-hans")
    html = response.content.decode()
    assert "最多可提现 ¥50.00。" in html and "超出可提现余额 ¥50.00。" in html


def test_the_daily_count_limit_is_explained(mall, funded):
    client = page_of(mall, funded)
    for _ in range(3):
        assert client.post(PAGE, {"amount": "1"}).status_code == 302
    refused = client.post(PAGE, {"amount": "1"})
    assert refused.status_code == 409
    assert "At most 3 withdrawals a day: try tomorrow." in refused.content.decode()


def test_the_real_name_field_from_2000_yuan(mall):
    setup_rules()
    (rich,) = make_chain(1)
    fund(rich, 300_000)
    seasoned(rich)
    client = page_of(mall, rich)

    refused = client.post(PAGE, {"amount": "2500"})
    html = refused.content.decode()
    assert refused.status_code == 400
    assert 'id="real-name-field" hidden' not in html
    assert "From ¥2,000 WeChat needs your real name to pay you." in html
    assert client.post(PAGE, {"amount": "2500", "real_name": "张三"}).status_code == 302
    withdrawal = Withdrawal.objects.get(distributor=rich)
    assert (withdrawal.amount_fen, withdrawal.real_name_given) == (250_000, True)


def test_without_wechat_sign_in_the_page_says_why(mall):
    setup_rules()
    (distributor,) = make_chain(1)
    fund(distributor, 5000)
    seasoned(distributor)
    distributor.shopper.wechat_openid = None
    distributor.shopper.save()
    client = page_of(mall, distributor)

    assert 'id="need-wechat"' in client.get(PAGE).content.decode()
    refused = client.post(PAGE, {"amount": "10"})
    assert refused.status_code == 409 and "Sign in with WeChat once" in refused.content.decode()


def test_a_pending_distributor_cannot_withdraw(mall, rules):
    from storefront.distribution.models import DistributionSettings

    settings_row = DistributionSettings.current()
    settings_row.join_mode = "apply"
    settings_row.save()
    distributor = services.distributor_join(shopper=make_shopper(openid="o-pending"))
    client = page_of(mall, distributor)
    assert 'id="withdraw-submit" disabled' in client.get(PAGE).content.decode()
    assert client.post(PAGE, {"amount": "1"}).status_code in (400, 409)
    assert not Withdrawal.objects.exists()


# ---------------------------------------------------------------- confirming in WeChat


@pytest.fixture
def transferring(mall, paying_mall, sim):  # noqa: F811 - fixtures imported above
    """A distributor whose withdrawal WeChat (the simulator) holds for their confirmation."""
    _, _, shopper, _ = paying_mall(mall)
    setup_rules()
    distributor = seasoned(services.distributor_join(shopper=shopper))
    fund(distributor, 5000)
    client = page_of(mall, distributor)
    assert client.post(PAGE, {"amount": "30"}).status_code == 302
    withdrawal = Withdrawal.objects.get(distributor=distributor)
    withdrawal_send(withdrawal.pk)  # what the outbox task does
    transfer = Transfer.objects.get(out_bill_no=withdrawal.out_bill_no)
    assert transfer.status == "WAIT_USER_CONFIRM" and transfer.package_info
    return client, withdrawal, transfer


def test_a_transfer_waiting_for_the_user_offers_confirmation_outside_wechat_explained(
        transferring, wechat_settings):  # noqa: F811
    client, withdrawal, transfer = transferring
    html = client.get(PAGE).content.decode()

    assert 'class="confirm-transfer"' in html
    assert f'data-package="{transfer.package_info}"' in html
    assert f'data-sub-mch-id="{transfer.sub_mchid}"' in html
    assert f'data-mch-id="{wechat_settings.WECHATPAY_SP_MCHID}"' in html
    assert "Open this page in WeChat to confirm receipt" in html
    assert 'id="wx-config"' not in html  # no JS-SDK outside WeChat


def test_inside_wechat_the_page_signs_a_js_sdk_config(transferring, wechat_settings):  # noqa: F811
    from storefront.notifications.wechat import _client

    client, _, _ = transferring
    html = client.get(PAGE, HTTP_USER_AGENT=WECHAT_UA).content.decode()

    assert "res.wx.qq.com/open/js/jweixin-1.6.0.js" in html
    config = json.loads(re.search(r'<script id="wx-config" type="application/json">(.*?)'
                                  r"</script>", html).group(1))
    assert config["appId"] == wechat_settings.WECHAT_OAUTH_APP_ID
    assert config["jsApiList"] == ["checkJsApi", "requestMerchantTransfer"]
    ticket = _client().jsapi.get_jsapi_ticket()
    signed = (f"jsapi_ticket={ticket}&noncestr={config['nonceStr']}"
              f"&timestamp={config['timestamp']}&url=http://{client.defaults['HTTP_HOST']}{PAGE}")
    assert config["signature"] == hashlib.sha1(signed.encode()).hexdigest()  # noqa: S324


def test_once_the_user_confirms_in_wechat_the_withdrawal_is_paid(transferring, sim):  # noqa: F811
    client, withdrawal, transfer = transferring
    requests.post(f"{sim.base_url}/_sim/transfer/{transfer.transfer_bill_no}/confirm",
                  json={}, timeout=5).raise_for_status()
    transfers.transfer_query(transfer=transfer)  # the callback's stand-in: the query job

    withdrawal.refresh_from_db()
    assert withdrawal.status == "succeeded"
    assert withdrawable_fen(withdrawal.distributor_id) == 2000  # paid once, not given back
    html = client.get(PAGE).content.decode()
    assert "Paid to your WeChat balance" in html and 'class="confirm-transfer"' not in html


def test_a_declined_transfer_gives_the_money_back_and_says_why(transferring, sim):  # noqa: F811
    client, withdrawal, transfer = transferring
    requests.post(f"{sim.base_url}/_sim/transfer/{transfer.transfer_bill_no}/decline",
                  json={}, timeout=5).raise_for_status()
    transfers.transfer_query(transfer=transfer)

    withdrawal.refresh_from_db()
    assert (withdrawal.status, withdrawal.reason) == (
        "failed", "WeChat could not pay: OVERDUE_CLOSE")
    assert withdrawable_fen(withdrawal.distributor_id) == 5000
    html = client.get(PAGE).content.decode()
    assert "Failed, returned to your balance" in html and "OVERDUE_CLOSE" in html
