"""特约商户进件: picture uploads and sub-merchant applications, as WeChat Pay checks them.

`POST /v3/merchant/media/upload` takes a multipart body (`meta` JSON {filename, sha256} and
the file) signed over the meta alone; `POST /v3/applyment4sub/applyment/` validates the
application per subject type, decrypts every sensitive field with the platform private key
(a clear value is refused PARAM_ERROR, as WeChat does) and requires uploaded media ids. A
test or a person moves an application along through `/_sim/applyments`; signing it makes
it FINISHED and creates the sub-merchant, so payments to it work. Decrypted values stay in
this process's memory, for tests to assert on."""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import string
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

from .accounts import SubMerchantSpec
from .clock import now
from .config import SimulatorConfig
from .errors import invalid_request, not_found, param_error
from .signing import decrypt_sensitive, require_encryption_serial
from .state import SimulatorState
from .validation import Fields

MAX_IMAGE_BYTES = 2 * 1024 * 1024
IMAGE_TYPES = {".jpg": b"\xff\xd8", ".jpeg": b"\xff\xd8", ".png": b"\x89PNG", ".bmp": b"BM"}
PREFIX = "APPLYMENT_STATE_"
EDITTING, AUDITING, REJECTED = f"{PREFIX}EDITTING", f"{PREFIX}AUDITING", f"{PREFIX}REJECTED"
TO_BE_CONFIRMED, TO_BE_SIGNED = f"{PREFIX}TO_BE_CONFIRMED", f"{PREFIX}TO_BE_SIGNED"
SIGNING, FINISHED, CANCELED = f"{PREFIX}SIGNING", f"{PREFIX}FINISHED", f"{PREFIX}CANCELED"

# Where a test (or the /_sim/applyments page) may move an application; resubmitting a
# REJECTED one is the merchant's move, through the API.
MOVES: dict[str, frozenset[str]] = {
    AUDITING: frozenset({REJECTED, TO_BE_CONFIRMED, TO_BE_SIGNED, CANCELED}),
    TO_BE_CONFIRMED: frozenset({TO_BE_SIGNED, REJECTED, CANCELED}),
    TO_BE_SIGNED: frozenset({SIGNING, FINISHED, CANCELED}),
    SIGNING: frozenset({FINISHED}),
    REJECTED: frozenset({CANCELED}),
    FINISHED: frozenset(),
    CANCELED: frozenset(),
}

STATE_MESSAGES = {
    AUDITING: "资料校验中",
    REJECTED: "请按驳回原因修改后重新提交",
    TO_BE_CONFIRMED: "请超级管理员扫码确认联系信息",
    TO_BE_SIGNED: "请超级管理员使用微信打开签约链接，完成签约",
    SIGNING: "开户签约中",
    FINISHED: "商户入驻申请已完成",
    CANCELED: "申请单已被撤销",
}

SUBJECT_TYPES = ("SUBJECT_TYPE_INDIVIDUAL", "SUBJECT_TYPE_ENTERPRISE")
SALES_SCENES = ("SALES_SCENES_STORE", "SALES_SCENES_MP", "SALES_SCENES_MINI_PROGRAM")
ACCOUNT_TYPES = ("BANK_ACCOUNT_TYPE_CORPORATE", "BANK_ACCOUNT_TYPE_PERSONAL")
LICENSE_NUMBER = re.compile(r"[0-9A-Z]{15}|[0-9A-Z]{18}")
ID_CARD_NUMBER = re.compile(r"\d{17}[\dX]|\d{15}")
MOBILE = re.compile(r"1\d{10}")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
DIGITS = re.compile(r"\d{1,40}")
ADDRESS_CODE = re.compile(r"\d{6}")
APPID = re.compile(r"wx[0-9a-f]{16}")
PERIOD = re.compile(r"\d{4}-\d{2}-\d{2}|长期")

# Every field WeChat wants encrypted, by its JSON path: refused when it does not decrypt.
SENSITIVE = (
    ("contact_info", "contact_name"),
    ("contact_info", "contact_id_number"),
    ("contact_info", "mobile_phone"),
    ("contact_info", "contact_email"),
    ("subject_info", "identity_info", "id_card_info", "id_card_name"),
    ("subject_info", "identity_info", "id_card_info", "id_card_number"),
    ("bank_account_info", "account_name"),
    ("bank_account_info", "account_number"),
)


OPENED_FILE = "applyment_sub_merchants.json"


def load_opened(state_dir: Path) -> list[SubMerchantSpec]:
    """The sub-merchants finished applications opened, kept in the state directory."""
    path = Path(state_dir) / OPENED_FILE
    if not path.exists():
        return []
    return [SubMerchantSpec(**item) for item in json.loads(path.read_text())]


def save_opened(state_dir: Path, spec: SubMerchantSpec) -> None:
    opened = [s for s in load_opened(state_dir) if s.sub_mchid != spec.sub_mchid] + [spec]
    (Path(state_dir) / OPENED_FILE).write_text(
        json.dumps([asdict(s) for s in opened], ensure_ascii=False, indent=1) + "\n")


@dataclass
class Media:
    media_id: str
    filename: str
    sha256: str
    size: int


@dataclass
class Applyment:
    applyment_id: int
    business_code: str
    body: dict
    sensitive: dict[str, str]
    created_at: datetime
    state: str = AUDITING
    audit_detail: list[dict] = field(default_factory=list)
    sub_mchid: str | None = None
    submissions: int = 1
    signed: bool = False


def _media_id() -> str:
    alphabet = string.ascii_letters + string.digits + "-_"
    return "V1_" + "".join(secrets.choice(alphabet) for _ in range(60))


def parse_multipart(body: bytes) -> dict[str, tuple[str | None, bytes]]:
    """A multipart body whose boundary is read from its first line: wechatpayv3 sends
    `Content-Type: multipart/form-data` without the boundary parameter."""
    first, _, _ = body.partition(b"\r\n")
    if not first.startswith(b"--") or len(first) < 3:
        raise param_error("/", "请求体应为 multipart/form-data")
    parts: dict[str, tuple[str | None, bytes]] = {}
    for chunk in body.split(first)[1:]:
        if chunk.startswith(b"--"):
            break
        head, _, content = chunk.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        disposition = next(
            (line for line in head.decode("utf-8", "replace").split("\r\n")
             if line.lower().startswith("content-disposition")), "",
        )
        name = re.search(r'\bname="([^"]*)"', disposition)
        filename = re.search(r'\bfilename="([^"]*)"', disposition)
        if name:
            parts[name.group(1)] = (filename.group(1) if filename else None,
                                    content.removesuffix(b"\r\n"))
    return parts


class ApplymentService:
    """Media and applications; `on_finished(spec)` creates the sub-merchant (the app
    registers it in the directory and rewrites credentials.json)."""

    def __init__(self, config: SimulatorConfig, state: SimulatorState,
                 on_finished: Callable[[SubMerchantSpec], None]):
        self.config = config
        self.state = state
        self.on_finished = on_finished
        self.media: dict[str, Media] = {}
        self.applyments: dict[int, Applyment] = {}
        self.by_code: dict[str, Applyment] = {}

    # Pictures ---------------------------------------------------------------------------

    def upload(self, parts: dict[str, tuple[str | None, bytes]]) -> tuple[bytes, Callable]:
        """Returns the meta bytes (what the merchant signed) and a function that stores the
        picture once the signature is verified."""
        if "meta" not in parts:
            raise param_error("/meta", "此字段为必填项")
        if "file" not in parts:
            raise param_error("/file", "此字段为必填项")
        meta_raw = parts["meta"][1]
        try:
            meta = Fields(json.loads(meta_raw), "/meta")
        except ValueError:
            raise param_error("/meta", "应为JSON对象") from None
        filename = meta.text("filename", max_bytes=128)
        digest = meta.text("sha256", pattern=re.compile(r"[0-9a-fA-F]{64}"))
        content = parts["file"][1]

        def store() -> dict:
            suffix = "." + filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
            if suffix not in IMAGE_TYPES:
                raise param_error("/meta/filename", "图片仅支持 JPG、BMP、PNG 格式")
            if not content.startswith(IMAGE_TYPES[suffix]):
                raise param_error("/file", "文件内容与扩展名不符")
            if len(content) > MAX_IMAGE_BYTES:
                raise param_error("/file", "图片大小不能超过 2M")
            if hashlib.sha256(content).hexdigest() != digest.lower():
                raise param_error("/meta/sha256", "文件摘要与 sha256 不一致")
            media = Media(_media_id(), filename, digest.lower(), len(content))
            with self.state.lock:
                self.media[media.media_id] = media
            return {"media_id": media.media_id}

        return meta_raw, store

    # Applications -----------------------------------------------------------------------

    def submit(self, body: object, wechatpay_serial: str | None) -> dict:
        require_encryption_serial(self.config.credentials, wechatpay_serial)
        fields = Fields(body)
        code = fields.text("business_code", max_bytes=124)
        sensitive = self._validate(fields)
        with self.state.lock:
            existing = self.by_code.get(code)
            if existing is not None:
                if existing.state != REJECTED:
                    raise invalid_request(
                        f"业务申请编号 {code} 已存在且申请单未被驳回，不能重复提交"
                    )
                existing.body, existing.sensitive = body, sensitive
                existing.state, existing.audit_detail = AUDITING, []
                existing.submissions += 1
                return {"applyment_id": existing.applyment_id}
            applyment = Applyment(self._new_id(), code, body, sensitive, now())
            self.applyments[applyment.applyment_id] = applyment
            self.by_code[code] = applyment
            return {"applyment_id": applyment.applyment_id}

    def query(self, *, business_code: str | None = None, applyment_id: str | None = None) -> dict:
        with self.state.lock:
            return self.resource(self._find(business_code=business_code,
                                            applyment_id=applyment_id))

    def find(self, applyment_id: int | str) -> Applyment:
        with self.state.lock:
            return self._find(applyment_id=str(applyment_id))

    def move(self, applyment_id: int | str, state: str, reasons: list | None = None) -> dict:
        """A test's (or the page's) move: `state` with or without the APPLYMENT_STATE_
        prefix; REJECTED takes `reasons` [{field, field_name, reject_reason}]."""
        target = state if state.startswith(PREFIX) else PREFIX + state
        finished_spec = None
        with self.state.lock:
            applyment = self._find(applyment_id=str(applyment_id))
            if target not in MOVES.get(applyment.state, frozenset()):
                raise invalid_request(f"申请单状态为 {applyment.state}，不能变为 {target}")
            if target == REJECTED:
                applyment.audit_detail = self._reasons(reasons)
            if target == FINISHED:
                finished_spec = self._finish(applyment)
            applyment.state = target
            resource = self.resource(applyment)
        if finished_spec is not None:
            self.on_finished(finished_spec)
        return resource

    def sign(self, applyment_id: int | str) -> dict:
        """The super administrator signs at `sign_url`: the account opens (FINISHED)."""
        with self.state.lock:
            applyment = self._find(applyment_id=str(applyment_id))
            if applyment.state not in (TO_BE_SIGNED, SIGNING):
                raise invalid_request("申请单当前不可签约")
            applyment.signed = True
        return self.move(applyment_id, FINISHED)

    def all(self) -> list[dict]:
        with self.state.lock:
            return [self.resource(a) for a in self.applyments.values()]

    def resource(self, applyment: Applyment) -> dict:
        state = applyment.state
        base = self.config.public_url or ""
        signable = state in (TO_BE_SIGNED, SIGNING)
        return {
            "business_code": applyment.business_code,
            "applyment_id": applyment.applyment_id,
            "sub_mchid": applyment.sub_mchid,
            "sign_url": f"{base}/_sim/applyments/{applyment.applyment_id}/sign"
            if signable else None,
            "applyment_state": state,
            "applyment_state_msg": STATE_MESSAGES.get(state, ""),
            "audit_detail": list(applyment.audit_detail) if state == REJECTED else [],
            "legal_validation_url": f"{base}/_sim/applyments/{applyment.applyment_id}/confirm"
            if state == TO_BE_CONFIRMED else None,
            "sign_state": "SIGNED" if applyment.signed else (
                "UNSIGNED" if signable else "NOT_SIGNABLE"),
        }

    def _finish(self, applyment: Applyment) -> SubMerchantSpec:
        if applyment.sub_mchid is None:
            taken = set(self.state.directory.sub_merchants)
            while True:
                candidate = "16" + "".join(secrets.choice(string.digits) for _ in range(8))
                if candidate not in taken:
                    break
            applyment.sub_mchid = candidate
        name = applyment.body.get("business_info", {}).get("merchant_shortname", "")
        return SubMerchantSpec(sub_mchid=applyment.sub_mchid, name=name)

    def _find(self, *, business_code: str | None = None,
              applyment_id: str | None = None) -> Applyment:
        found = None
        if business_code is not None:
            found = self.by_code.get(business_code)
        elif applyment_id is not None and applyment_id.isdigit():
            found = self.applyments.get(int(applyment_id))
        if found is None:
            raise not_found("申请单不存在")
        return found

    def _new_id(self) -> int:
        while True:
            candidate = int("2000002" + "".join(secrets.choice(string.digits) for _ in range(9)))
            if candidate not in self.applyments:
                return candidate

    @staticmethod
    def _reasons(reasons: list | None) -> list[dict]:
        if not reasons:
            return [{"field": "", "field_name": "",
                     "reject_reason": "资料不符合要求，请核实后重新提交"}]
        if not isinstance(reasons, list):
            raise param_error("/reasons", "应为数组")
        result = []
        for index, reason in enumerate(reasons):
            item = Fields(reason, f"/reasons/{index}")
            result.append({
                "field": item.text("field", required=False) or "",
                "field_name": item.text("field_name", required=False) or "",
                "reject_reason": item.text("reject_reason", max_bytes=512),
            })
        return result

    # Validation -------------------------------------------------------------------------

    def _sensitive(self, body: dict) -> dict[str, str]:
        """Decrypt every sensitive field present; a clear or foreign value is refused."""
        clear: dict[str, str] = {}
        for path in SENSITIVE:
            node: object = body
            for name in path[:-1]:
                node = node.get(name) if isinstance(node, dict) else None
            if not isinstance(node, dict) or node.get(path[-1]) in (None, ""):
                continue
            value = node[path[-1]]
            pointer = "/" + "/".join(path)
            if not isinstance(value, str):
                raise param_error(pointer, "应为字符串")
            clear[pointer] = decrypt_sensitive(self.config.credentials, pointer, value)
        return clear

    def _media(self, fields: Fields, name: str, *, required: bool = True) -> str | None:
        value = fields.text(name, required=required, max_bytes=256)
        if value is not None and value not in self.media:
            raise param_error(f"{fields.prefix}/{name}", "图片 media_id 不存在或已过期，请重新上传")
        return value

    def _validate(self, body: Fields) -> dict[str, str]:
        sensitive = self._sensitive(body.data)

        def clear(pointer: str, pattern: re.Pattern | None = None) -> str:
            value = sensitive.get(pointer)
            if not value:
                raise param_error(pointer, "此字段为必填项")
            if pattern is not None and not pattern.fullmatch(value):
                raise param_error(pointer, "格式不正确")
            return value

        contact = body.obj("contact_info")
        clear("/contact_info/contact_name")
        clear("/contact_info/contact_id_number", ID_CARD_NUMBER)
        clear("/contact_info/mobile_phone", MOBILE)
        clear("/contact_info/contact_email", EMAIL)
        contact.text("contact_type", required=False, choices=("LEGAL", "SUPER"))

        subject = body.obj("subject_info")
        subject_type = subject.text("subject_type", choices=SUBJECT_TYPES)
        licence = subject.obj("business_license_info")
        with self.state.lock:
            self._media(licence, "license_copy")
        licence.text("license_number", pattern=LICENSE_NUMBER)
        licence.text("merchant_name", max_bytes=128)
        licence.text("legal_person", max_bytes=64)
        identity = subject.obj("identity_info")
        identity.text("id_doc_type", choices=("IDENTIFICATION_TYPE_IDCARD",))
        card = identity.obj("id_card_info")
        with self.state.lock:
            self._media(card, "id_card_copy")
            self._media(card, "id_card_national")
        id_name = clear("/subject_info/identity_info/id_card_info/id_card_name")
        clear("/subject_info/identity_info/id_card_info/id_card_number", ID_CARD_NUMBER)
        card.text("card_period_begin", pattern=PERIOD)
        card.text("card_period_end", pattern=PERIOD)

        business = body.obj("business_info")
        business.text("merchant_shortname", max_bytes=64)
        business.text("service_phone", pattern=re.compile(r"[\d-]{5,20}"))
        sales = business.obj("sales_info")
        scenes = sales.array("sales_scenes_type")
        for index, scene in enumerate(scenes):
            if scene not in SALES_SCENES:
                raise param_error(f"/business_info/sales_info/sales_scenes_type/{index}",
                                  f"取值应为 {'|'.join(SALES_SCENES)} 之一")
        if "SALES_SCENES_STORE" in scenes:
            store = sales.obj("biz_store_info")
            store.text("biz_store_name", max_bytes=128)
            store.text("biz_address_code", pattern=ADDRESS_CODE)
            store.text("biz_store_address", max_bytes=512)
            with self.state.lock:
                for index, media_id in enumerate(store.array("store_entrance_pic")):
                    if media_id not in self.media:
                        raise param_error(
                            f"/business_info/sales_info/biz_store_info/store_entrance_pic/{index}",
                            "图片 media_id 不存在或已过期，请重新上传")
        if "SALES_SCENES_MP" in scenes:
            mp_info = sales.obj("mp_info")
            if not (mp_info.text("mp_appid", required=False, pattern=APPID)
                    or mp_info.text("mp_sub_appid", required=False, pattern=APPID)):
                raise param_error("/business_info/sales_info/mp_info/mp_appid", "此字段为必填项")
        if "SALES_SCENES_MINI_PROGRAM" in scenes:
            mini = sales.obj("mini_program_info")
            if not (mini.text("mini_program_appid", required=False, pattern=APPID)
                    or mini.text("mini_program_sub_appid", required=False, pattern=APPID)):
                raise param_error("/business_info/sales_info/mini_program_info/"
                                  "mini_program_appid", "此字段为必填项")

        settlement = body.obj("settlement_info")
        settlement.text("settlement_id", pattern=DIGITS)
        settlement.text("qualification_type", max_bytes=256)

        bank = body.obj("bank_account_info")
        account_type = bank.text("bank_account_type", choices=ACCOUNT_TYPES)
        if subject_type == "SUBJECT_TYPE_ENTERPRISE" and account_type != ACCOUNT_TYPES[0]:
            raise param_error("/bank_account_info/bank_account_type", "企业须使用对公银行账户")
        account_name = clear("/bank_account_info/account_name")
        if account_type == "BANK_ACCOUNT_TYPE_PERSONAL" and account_name != id_name:
            raise param_error("/bank_account_info/account_name",
                              "个人银行账户的开户名称须与经营者证件姓名一致")
        bank.text("account_bank", max_bytes=128)
        bank.text("bank_address_code", pattern=ADDRESS_CODE)
        clear("/bank_account_info/account_number", DIGITS)
        return sensitive

