"""特约商户进件 end to end: the owner applies in the console, the platform uploads the
pictures and submits through wechatpayv3 to the simulator, WeChat rejects with reasons, the
owner fixes and resubmits under the same business code, signs, and the finished
sub-merchant is bound to the mall (approved by the system) and takes a payment."""

from __future__ import annotations

import io

import pytest
import requests
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from PIL import Image

from core.actors import Actor
from storefront.orders.services import CheckoutItem, order_place
from storefront.payments import services as payments
from storefront.payments.models import PaymentChannel, PaymentStatus
from tenants import applyment as onboarding
from tenants.models import (
    ApplymentState,
    BindingStatus,
    WeChatApplyment,
    WeChatApplymentStatusChange,
    WeChatBinding,
    WeChatBindingStatusChange,
)
from tenants.tasks import follow_applyments
from tests.conftest import OWNER_PASSWORD
from tests.factories.catalog import SkuFactory
from tests.factories.orders import ShippingTemplateFactory
from tests.factories.shoppers import AddressFactory
from tests.payments import conftest as pay_helpers
from tests.payments.conftest import bind_approved, sim_pay

URL = "/console/wechat-pay/application/"
ID_NUMBER = "11010119900307123X"
ACCOUNT_NUMBER = "6222020200112233445"
MOBILE = "13912345678"
APPLICATION = {
    "subject_type": "SUBJECT_TYPE_ENTERPRISE", "merchant_shortname": "示例商城",
    "license_number": "91440300MA5G12345X", "merchant_name": "深圳示例商贸有限公司",
    "legal_person": "王小明", "id_card_name": "王小明", "id_card_number": ID_NUMBER,
    "id_card_valid_from": "2020-01-01", "id_card_valid_until": "长期",
    "contact_name": "王小明", "mobile_phone": MOBILE, "contact_email": "owner@example.com",
    "bank_account_type": "BANK_ACCOUNT_TYPE_CORPORATE", "account_name": "深圳示例商贸有限公司",
    "account_bank": "招商银行", "bank_address_code": "440300", "account_number": ACCOUNT_NUMBER,
    "store_name": "示例商城旗舰店", "store_address_code": "440300",
    "store_address": "深圳市南山区科技园1号", "mp_appid": "wx1234567890abcdef",
    "service_phone": "0755-12345678",
}
SECRETS = (ID_NUMBER, ACCOUNT_NUMBER, MOBILE, "深圳示例商贸有限公司", "王小明")


def picture(name: str) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 30)).save(buffer, format="PNG")
    return SimpleUploadedFile(f"{name}.png", buffer.getvalue(), content_type="image/png")


def pictures() -> dict:
    return {name: picture(name) for name in onboarding.IMAGE_FIELDS}


@pytest.fixture
def owner(mall_client, mall):
    mall_client.post("/console/login/", {"username": "owner@example.com",
                                         "password": OWNER_PASSWORD})
    return mall_client


def move(sim, applyment_id, state, reasons=None):
    response = requests.post(f"{sim.base_url}/_sim/applyments/{applyment_id}/state",
                             json={"state": state, "reasons": reasons or []}, timeout=5)
    assert response.status_code == 200, response.text


def submit_page(owner, **overrides):
    return owner.post(URL, {**APPLICATION, **pictures(), "action": "submit", **overrides})


def applied(mall, sim) -> WeChatApplyment:
    """An application submitted through the services (no page), for the binding tests."""
    saved = onboarding.applyment_save(
        merchant=mall, actor=Actor.system(), subject_type=APPLICATION["subject_type"],
        merchant_shortname=APPLICATION["merchant_shortname"],
        values={k: v for k, v in APPLICATION.items() if k in onboarding.TEXT_FIELDS},
        images=pictures())
    return onboarding.applyment_submit(applyment=saved, actor=Actor.system())


def finish(sim, applyment):
    move(sim, applyment.applyment_id, "TO_BE_SIGNED")
    sign_url = sim.simulator.applyments.query(applyment_id=str(applyment.applyment_id))[
        "sign_url"]
    assert requests.post(sign_url, timeout=5).status_code == 200


def test_rejected_fixed_resubmitted_signed_finished_binds_and_takes_a_payment(
        owner, mall, sim, wechat_settings, wechat_sim):
    response = submit_page(owner)
    assert response.status_code == 302, response.content.decode()[:3000]
    applyment = WeChatApplyment.objects.get(merchant=mall)
    assert applyment.state == ApplymentState.AUDITING and applyment.applyment_id
    code = applyment.business_code
    stored = sim.simulator.applyments.find(applyment.applyment_id)
    assert stored.sensitive["/subject_info/identity_info/id_card_info/id_card_number"] == ID_NUMBER
    assert set(applyment.media_ids) == set(onboarding.IMAGE_FIELDS)
    assert all(media_id in sim.simulator.applyments.media
               for media_id in applyment.media_ids.values())

    move(sim, applyment.applyment_id, "REJECTED", [
        {"field": "id_card_number", "field_name": "身份证号码", "reject_reason": "号码与姓名不符"}])
    owner.post(URL, {"action": "refresh"})
    applyment.refresh_from_db()
    assert applyment.state == ApplymentState.REJECTED
    page = owner.get(URL).content.decode()
    assert "号码与姓名不符" in page and 'id="reject-reasons"' in page

    # Submitting again without retyping the rejected field is refused, nothing sent.
    owner.post(URL, {"subject_type": APPLICATION["subject_type"],
                     "merchant_shortname": APPLICATION["merchant_shortname"],
                     "action": "submit"})
    applyment.refresh_from_db()
    assert applyment.state == ApplymentState.REJECTED
    assert sim.simulator.applyments.find(applyment.applyment_id).submissions == 1

    fixed = "110101199003071236"
    response = owner.post(URL, {"subject_type": APPLICATION["subject_type"],
                                "merchant_shortname": APPLICATION["merchant_shortname"],
                                "id_card_number": fixed, "action": "submit"})
    assert response.status_code == 302
    applyment.refresh_from_db()
    assert applyment.state == ApplymentState.AUDITING
    assert applyment.business_code == code
    stored = sim.simulator.applyments.find(applyment.applyment_id)
    assert stored.submissions == 2
    assert stored.sensitive["/subject_info/identity_info/id_card_info/id_card_number"] == fixed
    # The untouched fields went again from the encrypted store.
    assert stored.sensitive["/bank_account_info/account_number"] == ACCOUNT_NUMBER

    move(sim, applyment.applyment_id, "TO_BE_SIGNED")
    owner.post(URL, {"action": "refresh"})
    page = owner.get(URL).content.decode()
    applyment.refresh_from_db()
    assert applyment.state == ApplymentState.TO_BE_SIGNED
    assert applyment.sign_url in page and "<svg" in page  # the link and its QR code

    assert requests.post(applyment.sign_url, timeout=5).status_code == 200
    assert follow_applyments() == 1  # the beat task sees FINISHED
    applyment.refresh_from_db()
    assert applyment.state == ApplymentState.FINISHED and applyment.bound_at
    binding = WeChatBinding.objects.get(merchant=mall)
    assert binding.status == BindingStatus.APPROVED
    assert binding.sub_mchid == applyment.sub_mchid
    assert binding.profit_sharing_max_ratio_bp == 3000
    history = WeChatBindingStatusChange.objects.filter(binding=binding).first()
    assert history.actor_kind == "system" and str(applyment.applyment_id) in history.reason
    page = owner.get(URL).content.decode()
    assert f"Bound to sub-merchant {applyment.sub_mchid}" in page or applyment.sub_mchid in page
    states = list(WeChatApplymentStatusChange.objects.filter(applyment=applyment)
                  .order_by("created_at", "id").values_list("to_status", flat=True))
    assert states == ["draft", "auditing", "rejected", "auditing", "to_be_signed", "finished"]

    # The mall takes a payment on its new sub-merchant.
    ShippingTemplateFactory(default_fee_fen=0, free_above_fen=0)
    sku = SkuFactory(price_fen=1990, stock=5)
    address = AddressFactory()
    shopper = address.shopper
    shopper.wechat_openid = pay_helpers.test_user_openid(
        wechat_sim[0], wechat_settings.WECHATPAY_SP_APPID)
    shopper.save()
    order = order_place(shopper=shopper, items=[CheckoutItem(sku.pk, 1)],
                        address_id=address.pk, referrer_code=None)
    start = payments.payment_start(order=order, shopper=shopper, channel=PaymentChannel.JSAPI)
    assert start.payment.sub_mchid == applyment.sub_mchid
    sim_pay(sim, start.payment)
    payment, _ = payments.payment_query(payment=start.payment)
    assert payment.status == PaymentStatus.SUCCEEDED


def test_finished_seen_twice_binds_once(mall, sim, wechat_settings):
    applyment = applied(mall, sim)
    finish(sim, applyment)
    first = onboarding.applyment_refresh(applyment=applyment, actor=Actor.system())
    second = onboarding.applyment_refresh(applyment=applyment, actor=Actor.system())
    follow_applyments()
    assert first.state == second.state == ApplymentState.FINISHED
    binding = WeChatBinding.objects.get(merchant=mall)
    assert WeChatBindingStatusChange.objects.filter(binding=binding,
                                                    to_status="approved").count() == 1
    assert WeChatApplymentStatusChange.objects.filter(applyment=applyment,
                                                      to_status="finished").count() == 1


def test_finished_replaces_a_typed_claim(mall, sim, wechat_settings, sub_merchant):
    bind_approved(mall, sub_merchant)
    applyment = applied(mall, sim)
    finish(sim, applyment)
    applyment = onboarding.applyment_refresh(applyment=applyment, actor=Actor.system())
    binding = WeChatBinding.objects.get(merchant=mall)
    assert binding.status == BindingStatus.APPROVED
    assert binding.sub_mchid == applyment.sub_mchid != sub_merchant["sub_mchid"]


def test_a_number_held_by_another_mall_is_flagged_not_bound(
        mall, other_mall, sim, wechat_settings):
    applyment = applied(mall, sim)
    finish(sim, applyment)
    sub_mchid = sim.simulator.applyments.find(applyment.applyment_id).sub_mchid
    # Another mall already holds that number, approved (a mistaken claim, say).
    connection.set_schema_to_public()
    held = WeChatBinding.objects.create(merchant=other_mall, sub_mchid=sub_mchid,
                                        sub_appid="wx" + "b" * 16,
                                        status=BindingStatus.APPROVED)
    connection.set_tenant(mall)
    applyment = onboarding.applyment_refresh(applyment=applyment, actor=Actor.system())
    assert applyment.state == ApplymentState.FINISHED
    assert applyment.flagged_reason and applyment.bound_at is None
    assert not WeChatBinding.objects.filter(merchant=mall).exists()
    held.refresh_from_db()
    assert held.status == BindingStatus.APPROVED and held.merchant == other_mall
    # Once an admin frees the number, "bind" binds it.
    WeChatBinding.objects.filter(pk=held.pk).update(status=BindingStatus.REJECTED)
    applyment = onboarding.applyment_bind_retry(applyment=applyment)
    assert applyment.bound_at and not applyment.flagged_reason
    assert WeChatBinding.objects.get(merchant=mall).status == BindingStatus.APPROVED


def test_sensitive_data_is_encrypted_and_never_shown_back(owner, mall, sim, wechat_settings):
    response = owner.post(URL, {**APPLICATION, **pictures(), "action": "save"})
    assert response.status_code == 302
    applyment = WeChatApplyment.objects.get(merchant=mall)
    assert applyment.state == ApplymentState.DRAFT
    with connection.cursor() as cursor:
        cursor.execute("SELECT data_encrypted, filled_fields::text, media_ids::text "
                       "FROM public.tenants_wechatapplyment WHERE id = %s", [applyment.pk])
        raw = " ".join(cursor.fetchone())
    for secret in SECRETS:
        assert secret not in raw
    page = owner.get(URL).content.decode()
    for secret in SECRETS:
        assert secret not in page
    assert applyment.data_encrypted not in page
    assert "saved" in page and 'name="id_card_number"' in page


def test_bad_input_gets_clear_messages_and_nothing_is_saved(owner, mall, sim, wechat_settings):
    response = owner.post(URL, {**APPLICATION, "id_card_number": "12345",
                                "mobile_phone": "0755", "mp_appid": "nope",
                                "license_copy": SimpleUploadedFile("x.png", b"not a picture"),
                                "action": "save"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "An ID card number is 18 characters" in page
    assert "A mainland mobile" in page
    assert not WeChatApplyment.objects.exists()
    # A draft missing fields is saved, but submitting it names what is missing.
    owner.post(URL, {"subject_type": "SUBJECT_TYPE_ENTERPRISE", "merchant_shortname": "店",
                     "action": "submit"})
    applyment = WeChatApplyment.objects.get(merchant=mall)
    assert applyment.state == ApplymentState.DRAFT and applyment.applyment_id is None
    page = owner.get(URL).content.decode()
    assert "Required to submit" in page or "Upload this picture" in page


def test_only_the_owner_sees_the_page(mall_client, mall, wechat_settings):
    get_user_model().objects.create_user(
        username="clerk@example.com", password=OWNER_PASSWORD, is_staff=True)
    mall_client.post("/console/login/", {"username": "clerk@example.com",
                                         "password": OWNER_PASSWORD})
    assert mall_client.get(URL).status_code == 403
    assert mall_client.post(URL, {**APPLICATION, "action": "save"}).status_code == 403
    assert not WeChatApplyment.objects.exists()


def test_owner_sees_the_page_and_the_link(owner, mall, wechat_settings):
    assert owner.get(URL).status_code == 200
    assert URL in owner.get("/console/wechat-pay/").content.decode()


def test_platform_admin_lists_applications_waiting_without_sensitive_data(
        mall, sim, wechat_settings):
    from django.test import Client

    applyment = applied(mall, sim)
    connection.set_schema_to_public()
    admin = get_user_model().objects.create_superuser(
        username="root@platform.example.com", email="root@platform.example.com",
        password=OWNER_PASSWORD)
    client = Client(HTTP_HOST="localhost")
    client.force_login(admin)
    waiting = client.get("/admin/tenants/wechatapplyment/?waiting=wechat")
    assert waiting.status_code == 200
    assert applyment.business_code in waiting.content.decode()
    finished = client.get("/admin/tenants/wechatapplyment/?state__exact=finished")
    assert applyment.business_code not in finished.content.decode()
    detail = client.get(f"/admin/tenants/wechatapplyment/{applyment.pk}/change/")
    html = detail.content.decode()
    assert detail.status_code == 200 and applyment.business_code in html
    for secret in SECRETS:
        assert secret not in html
    assert applyment.data_encrypted not in html
    connection.set_tenant(mall)


def test_a_submission_whose_answer_was_lost_is_recorded_not_stuck(mall, sim, wechat_settings):
    import copy

    saved = onboarding.applyment_save(
        merchant=mall, actor=Actor.system(), subject_type=APPLICATION["subject_type"],
        merchant_shortname=APPLICATION["merchant_shortname"],
        values={k: v for k, v in APPLICATION.items() if k in onboarding.TEXT_FIELDS},
        images=pictures())
    # WeChat received the first submission, but the platform never recorded the answer.
    payload = onboarding._payload(saved, onboarding._data(saved))
    code, _ = onboarding._call(lambda c: c.applyment_submit(**copy.deepcopy(payload)))
    assert code == 200
    applyment = onboarding.applyment_submit(applyment=saved, actor=Actor.system())
    assert applyment.state == ApplymentState.AUDITING
    assert applyment.applyment_id == sim.simulator.applyments.by_code[
        saved.business_code].applyment_id


def test_a_finished_application_is_not_edited(owner, mall, sim, wechat_settings):
    applyment = applied(mall, sim)
    finish(sim, applyment)
    onboarding.applyment_refresh(applyment=applyment, actor=Actor.system())
    response = owner.post(URL, {**APPLICATION, "action": "save"})
    assert response.status_code == 409
    assert WeChatApplyment.objects.filter(merchant=mall).count() == 1
    with pytest.raises(onboarding.ApplymentLocked):
        onboarding.applyment_save(merchant=mall, actor=Actor.system(),
                                  subject_type=APPLICATION["subject_type"],
                                  merchant_shortname="x", values={})
