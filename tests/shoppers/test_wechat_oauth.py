"""WeChat web OAuth end to end against the simulator: the browser's side played with
`requests`, the mall's side with the test client on the mall's host."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from storefront.orders.cart import cart_add, cart_find, cart_get_or_create
from storefront.shoppers.models import Shopper
from storefront.shoppers.wechat import STATE_SESSION_KEY
from storefront.web.shopper_session import SESSION_KEY
from tests.conftest import host_client
from tests.factories.catalog import SkuFactory

from .conftest import consent, follow_back, sign_in, wechat_sign_in

pytestmark = pytest.mark.django_db


def test_snsapi_base_signs_in_by_openid(mall, mall_client, wechat):
    response = wechat_sign_in(mall_client, mall, user="alice", next_url="/me/")

    assert response.status_code == 302
    assert response["Location"] == "/me/"
    shopper = Shopper.objects.get()
    assert shopper.wechat_openid == wechat.openids["alice"]
    assert shopper.nickname == "" and shopper.avatar_url == ""  # base scope: no profile
    assert shopper.wechat_unionid
    assert mall_client.session[SESSION_KEY] == shopper.pk
    assert mall_client.get("/me/").status_code == 200


def test_the_authorize_url_points_at_the_configured_wechat(mall_client, wechat):
    start = mall_client.post(
        "/login/wechat/", {"agree": "on", "scope": "snsapi_userinfo", "next": "/cart/"}
    )

    url = urlsplit(start["Location"])
    query = parse_qs(url.query)
    assert f"{url.scheme}://{url.netloc}" == wechat.base_url
    assert url.path == "/connect/oauth2/authorize"
    assert url.fragment == "wechat_redirect"
    assert query["appid"] == [wechat.appid]
    assert query["scope"] == ["snsapi_userinfo"]
    assert query["response_type"] == ["code"]
    assert query["redirect_uri"][0].endswith("/login/wechat/callback/")
    state = query["state"][0]
    assert len(state) >= 32
    assert mall_client.session[STATE_SESSION_KEY][state]["next"] == "/cart/"


def test_snsapi_userinfo_fills_nickname_and_avatar(mall, mall_client, wechat):
    response = wechat_sign_in(mall_client, mall, user="bob", scope="snsapi_userinfo")

    assert response.status_code == 302
    shopper = Shopper.objects.get()
    assert shopper.wechat_openid == wechat.openids["bob"]
    assert shopper.nickname == wechat.nicknames["bob"] == "Bob 鲍勃"
    assert shopper.avatar_url == f"{wechat.base_url}/_sim/avatar/bob.svg"
    assert "Bob 鲍勃" in mall_client.get("/me/").content.decode()


def test_a_second_sign_in_finds_the_same_shopper(mall, wechat):
    first = host_client(mall)
    wechat_sign_in(first, mall, user="carol", scope="snsapi_userinfo")
    shopper = Shopper.objects.get()

    second = host_client(mall)  # another browser, silent base scope this time
    response = wechat_sign_in(second, mall, user="carol", scope="snsapi_base")

    assert response.status_code == 302
    assert Shopper.objects.count() == 1
    assert second.session[SESSION_KEY] == shopper.pk
    shopper.refresh_from_db()
    assert shopper.nickname == "Carol 卡萝"  # a base sign-in keeps the profile


def test_inside_wechat_consent_comes_before_silent_authorization(mall, mall_client, wechat):
    """PIPL: no silent sign-in on GET (it would store an openid before consent); the page
    offers WeChat beside the consent box, and the ticked box leads to silent authorization."""
    browser = requests.Session()
    wechat_sign_in(host_client(mall), mall, user="dave", browser=browser)  # remembered
    wechat_ua = "Mozilla/5.0 (iPhone) AppleWebKit MicroMessenger/8.0.47"

    page = mall_client.get("/login/?next=/cart/", HTTP_USER_AGENT=wechat_ua)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="agree"' in html and 'id="wechat-sign-in"' in html
    assert STATE_SESSION_KEY not in mall_client.session

    start = mall_client.post(
        "/login/wechat/", {"scope": "snsapi_base", "next": "/cart/", "agree": "on"},
        HTTP_USER_AGENT=wechat_ua,
    )

    assert start.status_code == 302
    assert parse_qs(urlsplit(start["Location"]).query)["scope"] == ["snsapi_base"]
    silent = browser.get(start["Location"], allow_redirects=False, timeout=5)
    assert silent.status_code == 302  # no consent page: WeChat's silent authorization
    response = follow_back(mall_client, silent.headers["Location"], mall)
    assert response["Location"] == "/cart/"
    assert mall_client.session[SESSION_KEY] == Shopper.objects.get().pk


def test_inside_wechat_the_phone_form_is_still_reachable(mall_client, wechat):
    page = mall_client.get("/login/?method=phone", HTTP_USER_AGENT="MicroMessenger/8.0")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="phone"' in html
    assert "Use my WeChat nickname and avatar" in html


def test_a_forged_state_is_refused(mall, mall_client, wechat):
    start = mall_client.post("/login/wechat/", {"agree": "on", "scope": "snsapi_base"})
    back = consent(start["Location"], user="alice")
    parts = urlsplit(back)
    code = parse_qs(parts.query)["code"][0]

    response = mall_client.get(
        "/login/wechat/callback/", {"code": code, "state": "forged-state-of-an-attacker"}
    )

    assert response.status_code == 403
    assert "We could not sign you in with WeChat" in response.content.decode()
    assert SESSION_KEY not in mall_client.session
    assert not Shopper.objects.exists()


def test_a_state_is_single_use_and_bound_to_its_session(mall, mall_client, wechat):
    start = mall_client.post("/login/wechat/", {"agree": "on", "scope": "snsapi_base"})
    back = consent(start["Location"], user="alice")

    # Another browser presenting this callback URL (a login-CSRF attempt) is refused.
    intruder = host_client(mall)
    assert follow_back(intruder, back, mall).status_code == 403
    assert SESSION_KEY not in intruder.session

    assert follow_back(mall_client, back, mall).status_code == 302
    mall_client.post("/logout/")
    replay = follow_back(mall_client, back, mall)
    assert replay.status_code == 403
    assert SESSION_KEY not in mall_client.session
    assert Shopper.objects.count() == 1


def test_a_bad_code_shows_a_friendly_page_and_signs_nobody_in(mall, mall_client, wechat):
    start = mall_client.post("/login/wechat/", {"agree": "on", "scope": "snsapi_base"})
    state = parse_qs(urlsplit(start["Location"]).query)["state"][0]

    response = mall_client.get("/login/wechat/callback/", {"code": "not-a-code", "state": state})

    assert response.status_code == 400
    html = response.content.decode()
    assert "WeChat could not confirm who you are" in html
    assert "/login/?method=phone" in html
    assert SESSION_KEY not in mall_client.session
    assert not Shopper.objects.exists()


def test_a_used_code_is_refused(mall, mall_client, wechat):
    start = mall_client.post("/login/wechat/", {"agree": "on", "scope": "snsapi_base"})
    back = consent(start["Location"], user="alice")
    code = parse_qs(urlsplit(back).query)["code"][0]
    assert follow_back(mall_client, back, mall).status_code == 302
    mall_client.post("/logout/")

    restart = mall_client.post("/login/wechat/", {"agree": "on", "scope": "snsapi_base"})
    state = parse_qs(urlsplit(restart["Location"]).query)["state"][0]
    response = mall_client.get("/login/wechat/callback/", {"code": code, "state": state})

    assert response.status_code == 400  # WeChat answers 40163 "code been used"
    assert SESSION_KEY not in mall_client.session


def test_a_cancelled_authorization_signs_nobody_in(mall_client, wechat):
    start = mall_client.post("/login/wechat/", {"agree": "on", "scope": "snsapi_userinfo"})
    state = parse_qs(urlsplit(start["Location"]).query)["state"][0]
    response = mall_client.get("/login/wechat/callback/", {"state": state})
    assert response.status_code == 400
    assert SESSION_KEY not in mall_client.session


def test_wechat_down_is_a_friendly_page(mall_client, wechat, settings):
    start = mall_client.post("/login/wechat/", {"agree": "on", "scope": "snsapi_base"})
    state = parse_qs(urlsplit(start["Location"]).query)["state"][0]
    settings.WECHAT_API_BASE_URL = "http://127.0.0.1:9"  # nothing listens there
    settings.WECHAT_HTTP_TIMEOUT = 2

    response = mall_client.get("/login/wechat/callback/", {"code": "whatever", "state": state})

    assert response.status_code == 502
    assert "WeChat did not answer in time" in response.content.decode()
    assert SESSION_KEY not in mall_client.session


def test_a_wrong_app_secret_is_refused(mall, mall_client, wechat, settings):
    settings.WECHAT_OAUTH_APP_SECRET = "0" * 32
    response = wechat_sign_in(mall_client, mall, user="alice")
    assert response.status_code == 400
    assert not Shopper.objects.exists()


def test_without_configuration_wechat_sign_in_is_unavailable(mall_client):
    response = mall_client.get("/login/wechat/")
    assert response.status_code == 503
    assert "not available" in response.content.decode()
    # Inside WeChat the phone form shows instead of a redirect loop.
    assert mall_client.get("/login/", HTTP_USER_AGENT="MicroMessenger/8.0").status_code == 200


def test_a_phone_shopper_gets_wechat_linked(mall, mall_client, wechat):
    shopper = Shopper.objects.create(phone="13812345678")
    sign_in(mall_client, shopper)

    response = wechat_sign_in(mall_client, mall, user="alice", scope="snsapi_userinfo")

    assert response.status_code == 302
    assert Shopper.objects.count() == 1
    shopper.refresh_from_db()
    assert shopper.wechat_openid == wechat.openids["alice"]
    assert shopper.nickname == "Alice 爱丽丝"
    assert mall_client.session[SESSION_KEY] == shopper.pk


def test_the_anonymous_cart_is_merged_on_wechat_sign_in(mall, mall_client, wechat):
    sku = SkuFactory(product__search_text="tea")
    session_key = mall_client.session.session_key
    cart_add(cart=cart_get_or_create(shopper=None, session_key=session_key), sku_id=sku.pk,
             quantity=2)

    wechat_sign_in(mall_client, mall, user="alice")

    cart = cart_find(shopper=Shopper.objects.get(), session_key=None)
    assert [(line.sku_id, line.quantity) for line in cart.lines.all()] == [(sku.pk, 2)]


def test_wechat_is_offered_outside_wechat_only_with_a_stand_in(mall_client, wechat, settings):
    assert "Use my WeChat nickname and avatar" in mall_client.get("/login/").content.decode()

    settings.WECHAT_OPEN_BASE_URL = "https://open.weixin.qq.com"
    outside = mall_client.get("/login/").content.decode()
    inside = mall_client.get("/login/?method=phone", HTTP_USER_AGENT="MicroMessenger/8.0")
    assert "Sign in with WeChat" not in outside  # the real page works only in WeChat
    assert "Sign in with WeChat" in inside.content.decode()
