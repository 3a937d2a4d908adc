"""特约商户进件 on the simulator, through wechatpayv3 exactly as the platform calls it:
uploads checked by digest and signature, applications validated per subject type with
every sensitive field required encrypted, resubmission only after a rejection, and signing
opening a sub-merchant that payments then accept."""

from __future__ import annotations

import copy
import json

import pytest
import requests
from wechatpayv3.type import RequestType

from simulators.wechat import SimulatorConfig, serve_in_thread
from simulators.wechat.clients import wechatpay_client

from .conftest import FAST
from .wechat_helpers import unique

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture(scope="module")
def own_sim(tmp_path_factory):
    """A simulator of its own: finished applications add sub-merchants to the state
    directory, which the session simulator's other tests count."""
    state_dir = tmp_path_factory.mktemp("wechat-sim-applyment")
    server, _ = serve_in_thread(SimulatorConfig.load_or_create(state_dir, **FAST))
    yield server, state_dir
    server.shutdown()


@pytest.fixture
def sim(own_sim):
    return own_sim[0]


@pytest.fixture
def wxpay(own_sim):
    return wechatpay_client(own_sim[1], own_sim[0].base_url)


@pytest.fixture
def image(tmp_path):
    path = tmp_path / "licence.png"
    path.write_bytes(PNG)
    return path


def upload(wxpay, path) -> str:
    code, body = wxpay.image_upload(str(path))
    assert code == 200, body
    return json.loads(body)["media_id"]


def application(media_id: str, **overrides) -> dict:
    body = {
        "business_code": unique("APP"),
        "contact_info": {"contact_name": "张三", "contact_id_number": "110101199003071234",
                         "mobile_phone": "13900000000", "contact_email": "a@example.com"},
        "subject_info": {
            "subject_type": "SUBJECT_TYPE_ENTERPRISE",
            "business_license_info": {"license_copy": media_id,
                                      "license_number": "91440300MA5EXAMPLE",
                                      "merchant_name": "深圳示例科技有限公司",
                                      "legal_person": "张三"},
            "identity_info": {"id_doc_type": "IDENTIFICATION_TYPE_IDCARD", "id_card_info": {
                "id_card_copy": media_id, "id_card_national": media_id,
                "id_card_name": "张三", "id_card_number": "110101199003071234",
                "card_period_begin": "2020-01-01", "card_period_end": "长期"}},
        },
        "business_info": {"merchant_shortname": "示例商城", "service_phone": "075512345678",
                          "sales_info": {"sales_scenes_type": ["SALES_SCENES_MP"],
                                         "mp_info": {"mp_appid": "wx0123456789abcdef"}}},
        "settlement_info": {"settlement_id": "716", "qualification_type": "零售"},
        "bank_account_info": {"bank_account_type": "BANK_ACCOUNT_TYPE_CORPORATE",
                              "account_name": "深圳示例科技有限公司", "account_bank": "工商银行",
                              "bank_address_code": "440300", "account_number": "6222000011112222"},
    }
    body.update(overrides)
    return body


def submit(wxpay, body: dict) -> tuple[int, dict]:
    code, text = wxpay.applyment_submit(**copy.deepcopy(body))
    return code, json.loads(text)


def move(sim, applyment_id, state, reasons=None):
    response = requests.post(f"{sim.base_url}/_sim/applyments/{applyment_id}/state",
                             json={"state": state, "reasons": reasons or []}, timeout=5)
    assert response.status_code == 200, response.text
    return response.json()


def test_upload_checks_digest_and_type(wxpay, sim, image, tmp_path):
    media_id = upload(wxpay, image)
    assert media_id.startswith("V1_")
    text_file = tmp_path / "notes.png"
    text_file.write_bytes(b"not a picture")
    code, body = wxpay.image_upload(str(text_file))
    assert code == 400 and "扩展名" in json.loads(body)["message"]
    big = tmp_path / "big.png"
    big.write_bytes(PNG + b"\x00" * (2 * 1024 * 1024))
    code, body = wxpay.image_upload(str(big))
    assert code == 400 and "2M" in json.loads(body)["message"]
    # A meta whose sha256 is not the file's: signed correctly, refused all the same.
    meta = json.dumps({"filename": "a.png", "sha256": "0" * 64})
    code, body = wxpay._core.request(
        "/v3/merchant/media/upload", method=RequestType.POST, data={"meta": meta},
        sign_data=meta, files=[("file", ("a.png", PNG, "image/png"))])
    assert code == 400 and "sha256" in json.loads(body)["message"]


def test_upload_with_a_forged_signature_is_refused(wxpay, sim):
    meta = json.dumps({"filename": "a.png", "sha256": "0" * 64})
    code, _ = wxpay._core.request(
        "/v3/merchant/media/upload", method=RequestType.POST, data={"meta": meta},
        sign_data=meta + " ", files=[("file", ("a.png", PNG, "image/png"))])
    assert code == 401


def test_full_cycle_rejected_resubmitted_signed_finished(wxpay, sim, image):
    media_id = upload(wxpay, image)
    body = application(media_id)
    code, answer = submit(wxpay, body)
    assert code == 200, answer
    applyment_id = answer["applyment_id"]
    stored = sim.simulator.applyments.find(applyment_id)
    assert stored.sensitive["/bank_account_info/account_number"] == "6222000011112222"
    assert stored.body["bank_account_info"]["account_number"] != "6222000011112222"

    # Not rejected: the same business code is refused.
    code, answer = submit(wxpay, body)
    assert code == 400 and answer["code"] == "INVALID_REQUEST"

    move(sim, applyment_id, "REJECTED", [{"field": "id_card_number", "field_name": "身份证号码",
                                           "reject_reason": "号码与姓名不符"}])
    code, text = wxpay.applyment_query(business_code=body["business_code"])
    state = json.loads(text)
    assert state["applyment_state"] == "APPLYMENT_STATE_REJECTED"
    assert state["audit_detail"][0]["reject_reason"] == "号码与姓名不符"

    code, answer = submit(wxpay, body)
    assert code == 200 and answer["applyment_id"] == applyment_id
    assert sim.simulator.applyments.find(applyment_id).submissions == 2
    move(sim, applyment_id, "TO_BE_SIGNED")
    state = json.loads(wxpay.applyment_query(applyment_id=applyment_id)[1])
    assert state["applyment_state"] == "APPLYMENT_STATE_TO_BE_SIGNED"
    assert state["sign_url"].endswith(f"/_sim/applyments/{applyment_id}/sign")
    assert state["audit_detail"] == []

    page = requests.get(state["sign_url"], timeout=5)
    assert "签约" in page.text
    assert requests.post(state["sign_url"], timeout=5).status_code == 200
    state = json.loads(wxpay.applyment_query(applyment_id=applyment_id)[1])
    assert state["applyment_state"] == "APPLYMENT_STATE_FINISHED"
    sub_mchid = state["sub_mchid"]
    assert sub_mchid
    code, _ = wxpay.profitsharing_config_query(sub_mchid=sub_mchid)
    assert code == 200


def test_opened_sub_merchants_survive_a_restart(wxpay, sim, own_sim, image):
    code, answer = submit(wxpay, application(upload(wxpay, image)))
    move(sim, answer["applyment_id"], "TO_BE_SIGNED")
    sub_mchid = move(sim, answer["applyment_id"], "FINISHED")["sub_mchid"]
    restarted, _ = serve_in_thread(SimulatorConfig.load_or_create(own_sim[1], **FAST))
    try:
        assert sub_mchid in restarted.simulator.state.directory.sub_merchants
    finally:
        restarted.shutdown()


def test_a_sensitive_field_in_clear_is_refused(wxpay, sim, image):
    media_id = upload(wxpay, image)
    body = application(media_id)
    params = copy.deepcopy(body)
    # Exactly what wechatpayv3 sends, with one field left in clear.
    for section, name in (("contact_info", "contact_name"), ("contact_info", "mobile_phone"),
                          ("contact_info", "contact_id_number"),
                          ("contact_info", "contact_email"),
                          ("bank_account_info", "account_name")):
        params[section][name] = wxpay._core.encrypt(params[section][name])
    card = params["subject_info"]["identity_info"]["id_card_info"]
    card["id_card_name"] = wxpay._core.encrypt(card["id_card_name"])
    card["id_card_number"] = wxpay._core.encrypt(card["id_card_number"])
    code, text = wxpay._core.request("/v3/applyment4sub/applyment/", method=RequestType.POST,
                                     data=params, cipher_data=True)
    answer = json.loads(text)
    assert code == 400 and answer["code"] == "PARAM_ERROR"
    assert answer["detail"]["field"] == "/bank_account_info/account_number"
    assert body["business_code"] not in sim.simulator.applyments.by_code


def test_validation_per_subject_type(wxpay, sim, image):
    media_id = upload(wxpay, image)
    personal = application(media_id)
    personal["bank_account_info"]["bank_account_type"] = "BANK_ACCOUNT_TYPE_PERSONAL"
    code, answer = submit(wxpay, personal)
    assert code == 400 and "对公" in answer["message"]

    individual = application(media_id)
    individual["subject_info"]["subject_type"] = "SUBJECT_TYPE_INDIVIDUAL"
    individual["bank_account_info"].update(bank_account_type="BANK_ACCOUNT_TYPE_PERSONAL",
                                           account_name="李四")
    code, answer = submit(wxpay, individual)
    assert code == 400 and answer["detail"]["field"] == "/bank_account_info/account_name"
    individual["bank_account_info"]["account_name"] = "张三"
    assert submit(wxpay, individual)[0] == 200

    unknown_media = application("V1_never_uploaded")
    code, answer = submit(wxpay, unknown_media)
    assert code == 400
    assert answer["detail"]["field"] == "/subject_info/business_license_info/license_copy"

    government = application(media_id)
    government["subject_info"]["subject_type"] = "SUBJECT_TYPE_GOVERNMENT"
    code, answer = submit(wxpay, government)
    assert code == 400 and answer["detail"]["field"] == "/subject_info/subject_type"


def test_illegal_moves_are_refused(wxpay, sim, image):
    code, answer = submit(wxpay, application(upload(wxpay, image)))
    response = requests.post(
        f"{sim.base_url}/_sim/applyments/{answer['applyment_id']}/state",
        json={"state": "FINISHED"}, timeout=5)
    assert response.status_code == 400
    listing = requests.get(f"{sim.base_url}/_sim/applyments", timeout=5)
    assert str(answer["applyment_id"]) in listing.text and "TO_BE_SIGNED" in listing.text
