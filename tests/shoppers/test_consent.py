"""PIPL consent at sign-in: nothing about a person is kept before they tick the box (phone
form, API, WeChat); the agreed versions are kept on the shopper; the merchant's texts (a
new version per save, audited) replace the platform default; a change asks signed-in
shoppers again, once, on the account pages."""

from __future__ import annotations

import json

import pytest

from merchant_console.models import AuditEntry
from storefront.shoppers import legal, services
from storefront.shoppers.errors import ConsentOutdated, ConsentRequired
from storefront.shoppers.models import LegalText, LoginCode, Shopper
from storefront.shoppers.wechat import STATE_SESSION_KEY
from storefront.web.shopper_session import SESSION_KEY
from tests.factories.shoppers import AGREED, ShopperFactory

from .conftest import consent, follow_back, sign_in

PHONE = "13712345678"

pytestmark = pytest.mark.django_db


def post_json(client, url, data):
    return client.post(url, json.dumps(data), content_type="application/json")


def _nothing_kept(client):
    assert not Shopper.objects.exists()
    assert not LoginCode.objects.exists()
    assert SESSION_KEY not in client.session
    assert STATE_SESSION_KEY not in client.session


# ------------------------------------------------------------------ the sign-in page


def test_the_sign_in_page_has_the_box_and_links_to_both_texts(mall_client):
    html = mall_client.get("/login/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()

    assert 'type="checkbox" id="agree" name="agree"' in html
    assert "我已阅读并同意" in html and "《用户协议》" in html and "《隐私政策》" in html
    assert 'href="/legal/terms/"' in html and 'href="/legal/privacy/"' in html
    assert 'name="terms_version" value="0"' in html


def test_both_texts_are_pages_of_the_mall_readable_signed_out(mall, mall_client):
    terms = mall_client.get("/legal/terms/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    privacy = mall_client.get("/legal/privacy/", HTTP_ACCEPT_LANGUAGE="zh-hans")

    assert terms.status_code == privacy.status_code == 200
    assert "用户协议" in terms.content.decode() and mall.name in terms.content.decode()
    body = privacy.content.decode()
    for words in ("个人信息保护法", "手机号码", "保存期限", "您的权利", "联系我们"):
        assert words in body
    assert mall_client.get("/legal/cookies/").status_code == 404


def test_without_the_box_no_code_is_sent_and_nothing_is_kept(mall_client, outbox):
    response = mall_client.post("/login/", {"action": "send", "phone": PHONE})

    assert response.status_code == 400
    assert "agree to the User Agreement and the Privacy Policy" in response.content.decode()
    assert outbox.outbox == []
    _nothing_kept(mall_client)


def test_without_the_box_the_code_signs_nobody_in(mall_client, outbox):
    mall_client.post("/login/", {"agree": "on", "action": "send", "phone": PHONE})
    code = outbox.last_code(PHONE)

    response = mall_client.post("/login/", {"action": "verify", "phone": PHONE, "code": code})

    assert response.status_code == 400
    assert not Shopper.objects.exists()
    assert SESSION_KEY not in mall_client.session
    assert LoginCode.objects.get().attempts == 0  # not even a guess was counted
    html = response.content.decode()
    assert 'id="agree-errors"' in html and 'id="code"' in html  # still on the code step


def test_with_the_box_the_versions_and_time_are_kept(mall_client, outbox):
    LegalText.objects.create(kind="privacy", version=1, body="隐私政策 v1")
    mall_client.post("/login/", {"agree": "on", "action": "send", "phone": PHONE,
                                 "terms_version": "0", "privacy_version": "1"})
    response = mall_client.post("/login/", {
        "agree": "on", "action": "verify", "phone": PHONE, "code": outbox.last_code(PHONE),
        "terms_version": "0", "privacy_version": "1"})

    assert response.status_code == 302
    shopper = Shopper.objects.get()
    assert (shopper.consent_terms_version, shopper.consent_privacy_version) == (0, 1)
    assert shopper.consented_at is not None


def test_a_text_changed_while_reading_is_refused(mall_client, outbox):
    """The page showed version 0; the merchant saved version 1 meanwhile: the shopper did
    not agree to what is now in force."""
    LegalText.objects.create(kind="terms", version=1, body="新协议")

    response = mall_client.post("/login/", {"agree": "on", "action": "send", "phone": PHONE,
                                            "terms_version": "0", "privacy_version": "0"})

    assert response.status_code == 409
    html = response.content.decode()
    assert "has just been updated" in html
    assert 'name="terms_version" value="1"' in html  # the new text, to be read and ticked
    assert 'name="agree" value="on" checked' not in html
    assert outbox.outbox == []
    _nothing_kept(mall_client)


def test_a_text_changed_between_send_and_sign_in_is_refused(mall_client, outbox):
    shown = {"agree": "on", "phone": PHONE, "terms_version": "0", "privacy_version": "0"}
    code_step = mall_client.post("/login/", {**shown, "action": "send"})
    assert 'name="terms_version" value="0"' in code_step.content.decode()
    LegalText.objects.create(kind="terms", version=1, body="新协议")

    response = mall_client.post("/login/", {**shown, "action": "verify",
                                            "code": outbox.last_code(PHONE)})

    assert response.status_code == 409
    assert not Shopper.objects.exists() and SESSION_KEY not in mall_client.session


# ------------------------------------------------------------------ the API


def test_the_api_refuses_without_consent_and_keeps_nothing(mall_client, outbox):
    code = post_json(mall_client, "/api/v1/auth/code/", {"phone": PHONE})
    assert code.status_code == 400
    assert code.json()["code"] == "consent_required"
    assert list(code.json()["fields"]) == ["agree"]
    assert outbox.outbox == []

    post_json(mall_client, "/api/v1/auth/code/", {"phone": PHONE, "agree": True})
    login = post_json(mall_client, "/api/v1/auth/login/",
                      {"phone": PHONE, "code": outbox.last_code(PHONE), "agree": False})
    assert login.status_code == 400 and login.json()["code"] == "consent_required"
    assert not Shopper.objects.exists()
    assert SESSION_KEY not in mall_client.session

    stale = post_json(mall_client, "/api/v1/auth/login/", {
        "phone": PHONE, "code": outbox.last_code(PHONE), "agree": True, "terms_version": 7})
    assert stale.status_code == 409 and stale.json()["code"] == "consent_outdated"

    login = post_json(mall_client, "/api/v1/auth/login/",
                      {"phone": PHONE, "code": outbox.last_code(PHONE), "agree": True})
    assert login.status_code == 200
    assert Shopper.objects.get().consented_at is not None


# ------------------------------------------------------------------ WeChat


def test_wechat_without_the_box_keeps_nothing(mall_client, wechat):
    refused = mall_client.post("/login/wechat/", {"scope": "snsapi_base", "next": "/me/"})
    assert refused.status_code == 400
    assert 'id="agree-errors"' in refused.content.decode()

    anonymous_get = mall_client.get("/login/wechat/", {"scope": "snsapi_base"})
    assert anonymous_get.status_code == 302
    assert anonymous_get["Location"].startswith("/login/?")
    _nothing_kept(mall_client)


def test_wechat_sign_in_records_the_consent_given_before_leaving(mall, mall_client, wechat):
    start = mall_client.post("/login/wechat/",
                             {"scope": "snsapi_base", "next": "/me/", "agree": "on"})
    response = follow_back(mall_client, consent(start["Location"], user="alice"), mall)

    assert response.status_code == 302
    shopper = Shopper.objects.get()
    assert shopper.wechat_openid == wechat.openids["alice"]
    assert (shopper.consent_terms_version, shopper.consent_privacy_version) == (0, 0)


def test_wechat_callback_refuses_when_the_texts_changed_meanwhile(mall, mall_client, wechat):
    start = mall_client.post("/login/wechat/",
                             {"scope": "snsapi_base", "next": "/me/", "agree": "on"})
    LegalText.objects.create(kind="privacy", version=1, body="新政策")

    response = follow_back(mall_client, consent(start["Location"], user="alice"), mall)

    assert response.status_code == 409
    assert not Shopper.objects.exists()
    assert SESSION_KEY not in mall_client.session


# ------------------------------------------------------------------ the services


def test_the_services_refuse_before_storing_anything(mall, outbox):
    with pytest.raises(ConsentRequired):
        services.login_code_request(phone=PHONE, consent=None)
    with pytest.raises(ConsentRequired):
        services.shopper_sign_in_with_wechat(openid="o-1", consent=None)
    with pytest.raises(ConsentOutdated):
        services.shopper_sign_in_with_wechat(
            openid="o-1", consent=legal.Consent(terms_version=1, privacy_version=0))
    assert not Shopper.objects.exists() and not LoginCode.objects.exists()
    assert outbox.outbox == []
    assert services.shopper_sign_in_with_wechat(openid="o-1", consent=AGREED).consented_at


# ------------------------------------------------------------------ asked again after a change


def test_after_a_change_the_shopper_agrees_again_once(mall, mall_client):
    shopper = ShopperFactory()
    sign_in(mall_client, shopper)
    assert mall_client.get("/me/").status_code == 200

    LegalText.objects.create(kind="terms", version=1, body="第二版用户协议：新增条款甲。")

    asked = mall_client.get("/me/addresses/")
    assert asked.status_code == 302
    assert asked["Location"] == "/me/consent/?next=%2Fme%2Faddresses%2F"
    page = mall_client.get(asked["Location"])
    assert "第二版用户协议：新增条款甲。" in page.content.decode()
    assert 'name="terms_version" value="1"' in page.content.decode()

    unticked = mall_client.post("/me/consent/", {"next": "/me/addresses/",
                                                 "terms_version": "1", "privacy_version": "0"})
    assert unticked.status_code == 400
    assert mall_client.get("/me/").status_code == 302

    agreed = mall_client.post("/me/consent/", {"next": "/me/addresses/", "agree": "on",
                                               "terms_version": "1", "privacy_version": "0"})
    assert agreed.status_code == 302 and agreed["Location"] == "/me/addresses/"
    shopper.refresh_from_db()
    assert (shopper.consent_terms_version, shopper.consent_privacy_version) == (1, 0)
    assert mall_client.get("/me/").status_code == 200  # not asked again
    assert mall_client.get("/me/consent/?next=/me/")["Location"] == "/me/"


def test_a_shopper_who_never_consented_is_asked_too(mall, mall_client):
    """Shoppers from before consent existed have no recorded versions."""
    shopper = ShopperFactory(consented_at=None, consent_terms_version=None,
                             consent_privacy_version=None)
    sign_in(mall_client, shopper)
    assert mall_client.get("/me/")["Location"].startswith("/me/consent/")


# ------------------------------------------------------------------ the console


def test_staff_edit_both_texts_each_save_a_new_audited_version(mall, mall_client, staff_client):
    owner = staff_client("owner")
    page = owner.get("/console/settings/legal/")
    assert page.status_code == 200
    assert 'id="legal-settings-form"' in page.content.decode()

    saved = owner.post("/console/settings/legal/", {
        "terms": "本店用户协议\r\n第一条", "privacy": "<script>alert(1)</script>本店隐私政策"})
    assert saved.status_code == 302
    assert list(LegalText.objects.order_by("kind").values_list("kind", "version")) == [
        ("privacy", 1), ("terms", 1)]
    assert LegalText.objects.get(kind="terms").body == "本店用户协议\n第一条"
    entry = AuditEntry.objects.get(action="legal.update")
    assert set(entry.detail) == {"terms", "privacy"}

    shown = mall_client.get("/legal/privacy/").content.decode()
    assert "<script>alert(1)</script>" not in shown
    assert "&lt;script&gt;" in shown
    assert "本店用户协议<br>第一条" in mall_client.get("/legal/terms/").content.decode()

    # Only the changed text gets a new version; an unchanged form changes nothing.
    owner.post("/console/settings/legal/", {"terms": "本店用户协议\n第二条",
                                            "privacy": "<script>alert(1)</script>本店隐私政策"})
    assert legal.legal_versions_current() == legal.Consent(terms_version=2, privacy_version=1)
    owner.post("/console/settings/legal/", {"terms": "本店用户协议\n第二条",
                                            "privacy": "<script>alert(1)</script>本店隐私政策"})
    assert AuditEntry.objects.filter(action="legal.update").count() == 2

    # Emptied: back to the platform default, as a new version shoppers agree to again.
    owner.post("/console/settings/legal/", {"terms": "", "privacy": "<script>alert(1)</script>"
                                            "本店隐私政策"})
    document = legal.legal_document_get(kind="terms")
    assert document.is_default and document.version == 3 and "用户协议" in document.body


def test_bad_text_is_refused_and_nothing_changes(mall, staff_client):
    owner = staff_client("owner")
    response = owner.post("/console/settings/legal/", {"terms": "ok\x07bell", "privacy": "ok"})
    assert response.status_code == 400
    assert not LegalText.objects.exists()
    assert not AuditEntry.objects.filter(action="legal.update").exists()


@pytest.mark.parametrize("role, status", [("owner", 200), ("admin", 200), ("finance", 403),
                                          ("operations", 403), ("customer_service", 403)])
def test_only_owner_and_admin_edit_the_texts(mall, staff_client, role, status):
    client = staff_client(role)
    assert client.get("/console/settings/legal/").status_code == status
    client.post("/console/settings/legal/", {"terms": "x", "privacy": "y"})
    assert LegalText.objects.exists() is (status == 200)
