"""Web OAuth through wechatpy's WeChatOAuth (following the consent page like a browser),
app tokens, the JS-SDK ticket, template/subscribe messages and mini-program login."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from wechatpy.exceptions import WeChatClientException, WeChatOAuthException

from simulators.wechat.clients import SimulatorWeChatClient, wechat_oauth

from .wechat_helpers import html_forms, submit

REDIRECT = "https://mall.example/wechat/callback?next=/cart"


def authorize(browser, base_url, oauth, user="alice"):
    """Open the authorize URL, pick `user` on the consent page; returns the redirect."""
    page = browser.get(oauth.authorize_url, allow_redirects=False, timeout=5)
    assert page.status_code == 200, page.text
    (form,) = [f for f in html_forms(page.text) if f["fields"]["user"] == user]
    return submit(browser, base_url, form)


def code_from(response):
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert (location.netloc, location.path) == ("mall.example", "/wechat/callback")
    query = parse_qs(location.query, keep_blank_values=True)
    assert query["next"] == ["/cart"]
    return query["code"][0], query["state"][0]


@pytest.fixture
def userinfo_oauth(base_url, credentials):
    return wechat_oauth(
        base_url,
        credentials["sp_appid"],
        credentials["sp_app_secret"],
        REDIRECT,
        scope="snsapi_userinfo",
        state="xyz",
    )


def test_userinfo_flow_with_wechatpy(base_url, userinfo_oauth, users):
    assert userinfo_oauth.authorize_url.startswith(f"{base_url}/connect/oauth2/authorize?")
    browser = requests.Session()
    page = browser.get(userinfo_oauth.authorize_url, allow_redirects=False, timeout=5)
    assert "Bob 鲍勃" in page.text and users["bob"]["openid"] in page.text
    code, state = code_from(authorize(browser, base_url, userinfo_oauth, "bob"))
    assert state == "xyz"
    token = userinfo_oauth.fetch_access_token(code)
    assert token["openid"] == users["bob"]["openid"]
    assert token["unionid"] == users["bob"]["unionid"] and token["scope"] == "snsapi_userinfo"
    info = userinfo_oauth.get_user_info()
    assert (info["nickname"], info["openid"]) == ("Bob 鲍勃", users["bob"]["openid"])
    assert requests.get(info["headimgurl"], timeout=5).headers["Content-Type"] == "image/svg+xml"
    assert userinfo_oauth.check_access_token()
    refreshed = userinfo_oauth.refresh_access_token(token["refresh_token"])
    assert refreshed["access_token"] != token["access_token"]
    with pytest.raises(WeChatOAuthException) as used:
        userinfo_oauth.fetch_access_token(code)
    assert used.value.errcode == 40163


def test_base_scope_is_silent_once_a_user_was_chosen(base_url, credentials, users):
    oauth = wechat_oauth(base_url, credentials["sp_appid"], credentials["sp_app_secret"], REDIRECT)
    browser = requests.Session()
    first_code, _ = code_from(authorize(browser, base_url, oauth, "carol"))
    assert oauth.fetch_access_token(first_code)["openid"] == users["carol"]["openid"]
    with pytest.raises(WeChatOAuthException) as refused:
        oauth.get_user_info()
    assert refused.value.errcode == 48001
    silent = browser.get(oauth.authorize_url, allow_redirects=False, timeout=5)
    second_code, _ = code_from(silent)
    assert oauth.fetch_access_token(second_code)["openid"] == users["carol"]["openid"]
    browser.get(f"{base_url}/_sim/logout", timeout=5)
    assert browser.get(oauth.authorize_url, allow_redirects=False, timeout=5).status_code == 200


def test_oauth_errors(base_url, credentials, userinfo_oauth):
    wrong_secret = wechat_oauth(base_url, credentials["sp_appid"], "0" * 32, REDIRECT)
    for oauth, code, errcode in [
        (wrong_secret, "whatever", 40125),
        (userinfo_oauth, "not-a-code", 40029),
    ]:
        with pytest.raises(WeChatOAuthException) as error:
            oauth.fetch_access_token(code)
        assert error.value.errcode == errcode
    bad_app = wechat_oauth(base_url, "wx0000000000000000", "x", REDIRECT)
    page = requests.get(bad_app.authorize_url, allow_redirects=False, timeout=5)
    assert page.status_code == 400 and "appid" in page.text
    bad_scope = requests.get(
        f"{base_url}/connect/oauth2/authorize",
        params={
            "appid": credentials["sp_appid"],
            "redirect_uri": REDIRECT,
            "response_type": "code",
            "scope": "snsapi_login",
        },
        timeout=5,
    )
    assert bad_scope.status_code == 400


@pytest.fixture
def client(base_url, credentials):
    return SimulatorWeChatClient(base_url, credentials["sp_appid"], credentials["sp_app_secret"])


def test_template_message_is_recorded(base_url, client, users):
    assert client.jsapi.get_jsapi_ticket()
    sent = client.message.send_template(
        users["alice"]["openid"],
        "TPL_ORDER_PAID",
        {"first": {"value": "支付成功"}, "amount": {"value": "¥9.90"}},
        url="https://mall.example/orders/1",
    )
    assert sent["errcode"] == 0
    messages = requests.get(f"{base_url}/_sim/messages", timeout=5).json()
    recorded = next(m for m in messages if m["msgid"] == sent["msgid"])
    assert (recorded["user"], recorded["template_id"]) == ("alice", "TPL_ORDER_PAID")
    assert recorded["data"]["amount"]["value"] == "¥9.90"
    with pytest.raises(WeChatClientException) as error:
        client.message.send_template("o-unknown", "TPL", {"first": {"value": "x"}})
    assert error.value.errcode == 40003
    assert "TPL_ORDER_PAID" in requests.get(f"{base_url}/_sim/", timeout=5).text


def test_wrong_app_secret_gets_no_token(base_url, credentials):
    client = SimulatorWeChatClient(base_url, credentials["sp_appid"], "0" * 32)
    with pytest.raises(WeChatClientException) as error:
        client.fetch_access_token()
    assert error.value.errcode == 40125


def test_mini_program_login_and_subscribe_message(base_url, credentials):
    appid = credentials["sp_miniprogram_appid"]
    client = SimulatorWeChatClient(base_url, appid, credentials["sp_miniprogram_secret"])
    minted = requests.post(
        f"{base_url}/_sim/miniprogram/code", json={"appid": appid, "user": "dave"}, timeout=5
    ).json()
    session = client.wxa.code_to_session(minted["js_code"])
    assert session["openid"] == minted["openid"] and session["session_key"]
    with pytest.raises(WeChatClientException) as used:
        client.wxa.code_to_session(minted["js_code"])
    assert used.value.errcode == 40163
    sent = client.wxa.send_subscribe_message(
        session["openid"], "TPL_SHIPPED", {"thing1": {"value": "已发货"}}, page="pages/order"
    )
    assert sent["errcode"] == 0
    recorded = requests.get(f"{base_url}/_sim/messages", timeout=5).json()[-1]
    assert (recorded["kind"], recorded["user"], recorded["page"]) == (
        "subscribe",
        "dave",
        "pages/order",
    )
