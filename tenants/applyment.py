"""WeChat Pay sub-merchant onboarding (特约商户进件): a mall's owner applies through the
platform for a sub-merchant account under the platform's service provider.

The owner saves the application (a draft, as often as needed), submits it, and WeChat
reviews it: rejected with reasons per field (fixed and resubmitted under the same business
code), to be confirmed, to be signed (a link the legal person opens in WeChat), finished
with the new `sub_mchid`. A beat task and the page's "refresh now" follow it with
`applyment_query`; on FINISHED the number is bound to the mall and approved by the system,
since WeChat opened it for this very application (tenants.wechat_binding).

The applicant's data is encrypted at rest (tenants.secrets) and never shown back; pictures
are uploaded to WeChat (`image_upload`) and only their media ids are kept. Sensitive fields
travel encrypted to WeChat's public key: `applyment_submit` encrypts them itself.
"""

from __future__ import annotations

import copy
import io
import json
import logging
import re
import secrets
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import requests
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from PIL import Image, UnidentifiedImageError

from core.actors import Actor
from core.errors import Conflict, DomainError, InvalidInput
from core.state_machine import StateMachine
from tenants import wechatpay_gateway
from tenants.models import (
    APPLYMENT_OPEN_STATES,
    ApplymentState,
    Merchant,
    WeChatApplyment,
    WeChatApplymentStatusChange,
)
from tenants.secrets import secret_decrypt, secret_encrypt
from tenants.wechat_binding import BindingTaken, binding_from_applyment

logger = logging.getLogger(__name__)

S = ApplymentState
_WECHAT_STATES = frozenset({S.AUDITING, S.REJECTED, S.TO_BE_CONFIRMED, S.TO_BE_SIGNED,
                            S.SIGNING, S.FINISHED, S.CANCELED})
APPLYMENT_MOVES: dict[str, frozenset[str]] = {
    S.DRAFT: frozenset({S.AUDITING}),
    # WeChat may skip states between two queries (auditing -> finished), so an open
    # application may move to any of WeChat's states.
    **{state: _WECHAT_STATES - {state} for state in APPLYMENT_OPEN_STATES},
    S.REJECTED: frozenset({S.AUDITING, S.CANCELED}),
    S.FINISHED: frozenset(),
    S.CANCELED: frozenset(),
}


class IllegalApplymentTransition(Conflict):
    code = "illegal_applyment_transition"


APPLYMENT_MACHINE = StateMachine(
    name="wechat_applyment", model=WeChatApplyment, history=WeChatApplymentStatusChange,
    subject_field="applyment", moves=APPLYMENT_MOVES, status_field="state",
    error=IllegalApplymentTransition, noun="WeChat Pay application",
    timestamps={S.FINISHED: "finished_at"},
    event_data=lambda a: {"merchant_id": a.merchant_id, "applyment_id": a.applyment_id},
)

# WeChat's APPLYMENT_STATE_* -> ours. EDITTING is WeChat still storing a submission.
_FROM_WECHAT = {
    "APPLYMENT_STATE_EDITTING": S.AUDITING, "APPLYMENT_STATE_AUDITING": S.AUDITING,
    "APPLYMENT_STATE_REJECTED": S.REJECTED, "APPLYMENT_STATE_TO_BE_CONFIRMED": S.TO_BE_CONFIRMED,
    "APPLYMENT_STATE_TO_BE_SIGNED": S.TO_BE_SIGNED, "APPLYMENT_STATE_SIGNING": S.SIGNING,
    "APPLYMENT_STATE_FINISHED": S.FINISHED, "APPLYMENT_STATE_CANCELED": S.CANCELED,
}

EDITABLE = frozenset({S.DRAFT, S.REJECTED})

SUBJECT_TYPES = ("SUBJECT_TYPE_ENTERPRISE", "SUBJECT_TYPE_INDIVIDUAL")
ACCOUNT_TYPES = ("BANK_ACCOUNT_TYPE_CORPORATE", "BANK_ACCOUNT_TYPE_PERSONAL")
# The settlement rule WeChat assigns per subject type for retail (结算规则 ID).
SETTLEMENT_IDS = {"SUBJECT_TYPE_ENTERPRISE": "716", "SUBJECT_TYPE_INDIVIDUAL": "719"}
QUALIFICATION_TYPE = "零售"

_LICENCE = re.compile(r"[0-9A-Z]{18}|\d{15}")
_ID_CARD = re.compile(r"\d{17}[\dX]|\d{15}")
_MOBILE = re.compile(r"1\d{10}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}")
_ACCOUNT = re.compile(r"\d{8,30}")
_AREA = re.compile(r"\d{6}")
_APPID = re.compile(r"wx[0-9a-f]{16}")
_PHONE = re.compile(r"[\d-]{5,20}")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
LONG_TERM = "长期"


@dataclass(frozen=True)
class Spec:
    label: str  # lazily translated, as the messages
    max_bytes: int = 128
    pattern: re.Pattern | None = None
    message: str = ""
    required: bool = True


# The applicant's text fields, all kept encrypted. Order = the form's order.
TEXT_FIELDS: dict[str, Spec] = {
    "license_number": Spec(gettext_lazy("Business licence number"), 18, _LICENCE,
                           gettext_lazy("The unified social credit code: 18 digits or capital "
                                        "letters.")),
    "merchant_name": Spec(gettext_lazy("Name on the business licence")),
    "legal_person": Spec(gettext_lazy("Legal person on the business licence"), 64),
    "id_card_name": Spec(gettext_lazy("Legal person's name on the ID card"), 64),
    "id_card_number": Spec(gettext_lazy("Legal person's ID card number"), 18, _ID_CARD,
                           gettext_lazy("An ID card number is 18 characters: 17 digits and a "
                                        "digit or X.")),
    "id_card_valid_from": Spec(gettext_lazy("ID card valid from"), 10, _DATE,
                               gettext_lazy("Use the form 2020-01-31.")),
    "id_card_valid_until": Spec(gettext_lazy("ID card valid until"), 10,
                                re.compile(rf"\d{{4}}-\d{{2}}-\d{{2}}|{LONG_TERM}"),
                                # LONG_TERM spelled out: a lazy message cannot be formatted here.
                                gettext_lazy("Use the form 2040-01-31, or 长期 for no end.")),
    "contact_name": Spec(gettext_lazy("Contact's name"), 64),
    "contact_id_number": Spec(gettext_lazy("Contact's ID card number"), 18, _ID_CARD,
                              gettext_lazy("An ID card number is 18 characters: 17 digits and "
                                           "a digit or X."),
                              required=False),
    "mobile_phone": Spec(gettext_lazy("Contact's mobile"), 11, _MOBILE,
                         gettext_lazy("A mainland mobile: 11 digits from 1.")),
    "contact_email": Spec(gettext_lazy("Contact's e-mail"), 128, _EMAIL,
                          gettext_lazy("Enter a valid e-mail address.")),
    "bank_account_type": Spec(gettext_lazy("Account type"), 32,
                              re.compile("|".join(ACCOUNT_TYPES)),
                              gettext_lazy("Choose corporate or personal.")),
    "account_name": Spec(gettext_lazy("Account name")),
    "account_bank": Spec(gettext_lazy("Bank"), 64),
    "bank_address_code": Spec(gettext_lazy("Bank's area code"), 6, _AREA,
                              gettext_lazy("An area code is 6 digits.")),
    "account_number": Spec(gettext_lazy("Account number"), 30, _ACCOUNT,
                           gettext_lazy("An account number is 8 to 30 digits.")),
    "store_name": Spec(gettext_lazy("Store name")),
    "store_address_code": Spec(gettext_lazy("Store's area code"), 6, _AREA,
                               gettext_lazy("An area code is 6 digits.")),
    "store_address": Spec(gettext_lazy("Store address"), 512),
    "mp_appid": Spec(gettext_lazy("Official account app id"), 18, _APPID,
                     gettext_lazy("An app id looks like wx followed by 16 hex characters."),
                     required=False),
    "mini_program_appid": Spec(gettext_lazy("Mini-program app id"), 18, _APPID,
                               gettext_lazy("An app id looks like wx followed by 16 hex "
                                            "characters."),
                               required=False),
    "service_phone": Spec(gettext_lazy("Customer service phone"), 20, _PHONE,
                          gettext_lazy("A phone number: digits and dashes.")),
}
IMAGE_FIELDS: dict[str, str] = {
    "license_copy": gettext_lazy("Business licence photo"),
    "id_card_copy": gettext_lazy("ID card, portrait side"),
    "id_card_national": gettext_lazy("ID card, national emblem side"),
    "store_entrance_pic": gettext_lazy("Store entrance photo"),
}
MAX_IMAGE_BYTES = 2 * 1024 * 1024
_IMAGE_FORMATS = {"JPEG": ".jpg", "PNG": ".png", "BMP": ".bmp"}

# WeChat's field names in audit_detail (the last segment of a path) -> ours.
_WECHAT_FIELDS = {
    "card_period_begin": "id_card_valid_from", "card_period_end": "id_card_valid_until",
    "biz_store_name": "store_name", "biz_address_code": "store_address_code",
    "biz_store_address": "store_address", "merchant_shortname": "merchant_shortname",
    "subject_type": "subject_type", "mp_sub_appid": "mp_appid",
    "mini_program_sub_appid": "mini_program_appid",
}


class ApplymentInvalid(InvalidInput):
    code = "applyment_invalid"


class ApplymentLocked(Conflict):
    code = "applyment_locked"
    default_message = gettext_lazy(
        "WeChat is reviewing the application; it cannot be changed now.")


class ApplymentRefused(InvalidInput):
    """WeChat refused the submission (PARAM_ERROR …): `fields` names our field if known."""

    code = "applyment_refused"
    status = 422


class ApplymentUnavailable(DomainError):
    code = "applyment_unavailable"
    status = 503
    default_message = gettext_lazy("WeChat Pay could not be reached. Try again in a moment.")


# Selectors -------------------------------------------------------------------------------


def applyment_of_merchant(merchant: Merchant) -> WeChatApplyment | None:
    """The mall's application in progress, else its latest one."""
    open_one = WeChatApplyment.objects.filter(merchant=merchant).exclude(
        state__in=[S.FINISHED, S.CANCELED]).first()
    return open_one or WeChatApplyment.objects.filter(merchant=merchant).first()


def rejected_fields(applyment: WeChatApplyment) -> dict[str, str]:
    """Our field -> WeChat's reason, for a rejected application ("" key: not about one field)."""
    if applyment.state != S.REJECTED:
        return {}
    reasons: dict[str, str] = {}
    for item in applyment.audit_detail or []:
        name = _our_field(item.get("field", ""))
        reason = item.get("reject_reason", "")
        reasons[name] = f"{reasons[name]}; {reason}" if name in reasons else reason
    return reasons


def _our_field(wechat_field: str) -> str:
    last = (wechat_field or "").strip("/").rsplit("/", 1)[-1].split(".")[-1]
    if last in TEXT_FIELDS or last in IMAGE_FIELDS:
        return last
    return _WECHAT_FIELDS.get(last, "")


def _data(applyment: WeChatApplyment) -> dict[str, str]:
    if not applyment.data_encrypted:
        return {}
    return json.loads(secret_decrypt(applyment.data_encrypted))


# Saving ----------------------------------------------------------------------------------


def applyment_save(
    *, merchant: Merchant, actor: Actor, subject_type: str, merchant_shortname: str,
    values: dict[str, str], images: dict | None = None,
) -> WeChatApplyment:
    """Save the mall's application (created on first save). Empty values keep what is
    stored, so the owner types again only what is rejected or changed. Pictures are
    uploaded to WeChat now; only their media ids are kept."""
    images = {name: upload for name, upload in (images or {}).items() if upload}
    values = {name: (value or "").strip() for name, value in values.items()
              if name in TEXT_FIELDS and (value or "").strip()}
    if "id_card_number" in values:
        values["id_card_number"] = values["id_card_number"].upper()
    if "contact_id_number" in values:
        values["contact_id_number"] = values["contact_id_number"].upper()
    errors = _check_values(subject_type, merchant_shortname, values)
    for name, upload in images.items():
        if name in IMAGE_FIELDS:
            problem = _check_image(upload)
            if problem:
                errors[name] = [problem]
    if errors:
        raise ApplymentInvalid(fields=errors)
    _check_editable(applyment_of_merchant(merchant))
    media = {name: _upload_image(name, upload) for name, upload in images.items()
             if name in IMAGE_FIELDS}
    with transaction.atomic():
        Merchant.objects.select_for_update().only("pk").get(pk=merchant.pk)
        applyment = _check_editable(
            WeChatApplyment.objects.select_for_update().filter(merchant=merchant).first())
        if applyment is None or applyment.state == S.CANCELED:
            applyment = WeChatApplyment.objects.create(
                merchant=merchant, business_code=_business_code(merchant),
            )
            APPLYMENT_MACHINE.record_creation(applyment, actor=actor, reason="draft started",
                                              reference=applyment.business_code)
        data = {**_data(applyment), **values}
        changed = set(values) | set(media)
        applyment.data_encrypted = secret_encrypt(json.dumps(data, ensure_ascii=False))
        applyment.filled_fields = sorted(set(data) | set(applyment.media_ids) | set(media))
        applyment.media_ids = {**applyment.media_ids, **media}
        applyment.subject_type = subject_type
        if merchant_shortname.strip() != applyment.merchant_shortname:
            changed.add("merchant_shortname")
        applyment.merchant_shortname = merchant_shortname.strip()
        if applyment.state == S.REJECTED:
            applyment.refilled_fields = sorted(set(applyment.refilled_fields) | changed)
        applyment.save()
    return applyment


def _check_editable(latest: WeChatApplyment | None) -> WeChatApplyment | None:
    """The mall's latest application may be edited as a draft or after a rejection; after
    a cancellation a new one starts; a finished one is the mall's record."""
    if latest is not None and latest.state == S.FINISHED:
        raise ApplymentLocked(_("The application is finished: WeChat opened the sub-merchant."))
    if latest is not None and latest.state not in EDITABLE | {S.CANCELED}:
        raise ApplymentLocked()
    return latest


def _business_code(merchant: Merchant) -> str:
    """Ours, unique per application: WeChat keys a resubmission by it."""
    return f"MALL{merchant.pk}_{timezone.now():%Y%m%d}_{secrets.token_hex(6).upper()}"


def _check_values(subject_type: str, shortname: str, values: dict[str, str]) -> dict:
    errors: dict[str, list[str]] = {}
    if subject_type not in SUBJECT_TYPES:
        errors["subject_type"] = [_("Choose an enterprise or an individual business.")]
    shortname = (shortname or "").strip()
    if not shortname:
        errors["merchant_shortname"] = [_("Give the short name shoppers see when paying.")]
    elif len(shortname.encode()) > 64:
        errors["merchant_shortname"] = [_("Use at most 21 Chinese characters.")]
    for name, value in values.items():
        spec = TEXT_FIELDS[name]
        if spec.pattern is None and len(value.encode()) > spec.max_bytes:
            errors[name] = [_("Too long: at most %(max_bytes)s bytes.")
                            % {"max_bytes": spec.max_bytes}]
        elif spec.pattern is not None and not spec.pattern.fullmatch(value):
            errors[name] = [str(spec.message)]
        elif spec.pattern is _DATE or (name == "id_card_valid_until" and value != LONG_TERM):
            try:
                date.fromisoformat(value)
            except ValueError:
                errors[name] = [_("This date does not exist.")]
    return errors


def _check_image(upload) -> str:
    if upload.size > MAX_IMAGE_BYTES:
        return _("A picture may be at most 2 MB.")
    try:
        upload.seek(0)
        with Image.open(upload) as image:
            image.verify()
            kind = image.format
    except (UnidentifiedImageError, OSError, ValueError):
        return _("This is not a picture WeChat accepts: use JPG, PNG or BMP.")
    finally:
        upload.seek(0)
    if kind not in _IMAGE_FORMATS:
        return _("This is not a picture WeChat accepts: use JPG, PNG or BMP.")
    return ""


def _upload_image(name: str, upload) -> str:
    """Upload one picture through wechatpayv3 (which reads a file path) and forget it."""
    upload.seek(0)
    content = upload.read()
    with Image.open(io.BytesIO(content)) as image:
        suffix = _IMAGE_FORMATS[image.format]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{name}{suffix}"
        path.write_bytes(content)
        try:
            answer = _call(lambda c: c.image_upload(str(path)))
        except _NETWORK_ERRORS as exc:
            raise ApplymentUnavailable() from exc
    try:
        body = _parse(answer)
    except wechatpay_gateway.WeChatPayError as exc:
        raise ApplymentRefused(exc.message, fields={name: [exc.message]}) from exc
    return body["media_id"]


# Submitting ------------------------------------------------------------------------------


def applyment_submit(*, applyment: WeChatApplyment, actor: Actor) -> WeChatApplyment:
    """Send the application to WeChat (or resubmit a rejected one under the same business
    code). Refused with the missing or rejected fields named, nothing sent."""
    applyment.refresh_from_db()
    if applyment.state not in EDITABLE:
        raise ApplymentLocked()
    data = _data(applyment)
    _check_complete(applyment, data)
    payload = _payload(applyment, data)
    try:
        answer = _call(lambda c: c.applyment_submit(**copy.deepcopy(payload)))
    except _NETWORK_ERRORS as exc:
        raise ApplymentUnavailable() from exc
    try:
        body = _parse(answer)
    except wechatpay_gateway.WeChatPayError as exc:
        recovered = _already_with_wechat(applyment, exc, actor)
        if recovered is not None:
            return recovered
        field = _our_field(_error_field(answer))
        message = _("WeChat refused the application: %(reason)s") % {"reason": exc.message}
        raise ApplymentRefused(message, fields={field: [exc.message]} if field else {}) from exc
    resubmitted = applyment.state == S.REJECTED
    with transaction.atomic():
        return APPLYMENT_MACHINE.transition(
            pk=applyment.pk, to_status=S.AUDITING, actor=actor,
            reason="resubmitted after rejection" if resubmitted else "submitted",
            reference=str(body.get("applyment_id", "")),
            expected_from=frozenset(EDITABLE),
            changes={"applyment_id": body.get("applyment_id"), "submitted_at": timezone.now(),
                     "state_message": "", "audit_detail": [], "refilled_fields": [],
                     "sign_url": "", "legal_validation_url": "", "last_error": ""},
        )


def _already_with_wechat(applyment: WeChatApplyment, error, actor: Actor):
    """A submission WeChat refuses because the business code is in use and not rejected
    means WeChat already has this very submission (an earlier answer was lost: a timeout, a
    crash before recording it). Record it as submitted and catch up with WeChat's state,
    instead of leaving the application stuck as a draft that can never be sent."""
    if error.wechat_code != "INVALID_REQUEST":
        return None
    try:
        body = _parse(_call(lambda c: c.applyment_query(business_code=applyment.business_code)))
    except (DomainError, *_NETWORK_ERRORS):
        return None
    if _FROM_WECHAT.get(body.get("applyment_state", "")) in (None, S.REJECTED, S.CANCELED):
        return None
    with transaction.atomic():
        APPLYMENT_MACHINE.transition(
            pk=applyment.pk, to_status=S.AUDITING, actor=actor,
            reason="already submitted: WeChat had it", expected_from=frozenset(EDITABLE),
            reference=str(body.get("applyment_id", "")),
            changes={"applyment_id": body.get("applyment_id"), "submitted_at": timezone.now(),
                     "state_message": "", "audit_detail": [], "refilled_fields": [],
                     "last_error": ""},
        )
    return applyment_refresh(applyment=applyment, actor=actor)


def _error_field(answer: tuple[int, str]) -> str:
    try:
        return (json.loads(answer[1]).get("detail") or {}).get("field", "")
    except (ValueError, AttributeError):
        return ""


def _check_complete(applyment: WeChatApplyment, data: dict[str, str]) -> None:
    errors: dict[str, list[str]] = {}
    for name, spec in TEXT_FIELDS.items():
        if spec.required and not data.get(name):
            errors[name] = [_("Required to submit.")]
    for name in IMAGE_FIELDS:
        if not applyment.media_ids.get(name):
            errors[name] = [_("Upload this picture to submit.")]
    if not applyment.merchant_shortname:
        errors["merchant_shortname"] = [_("Required to submit.")]
    if not (data.get("mp_appid") or data.get("mini_program_appid")):
        errors["mp_appid"] = [_("Give the official account or the mini-program app id.")]
    personal = data.get("bank_account_type") == "BANK_ACCOUNT_TYPE_PERSONAL"
    if applyment.subject_type == "SUBJECT_TYPE_ENTERPRISE" and personal:
        errors["bank_account_type"] = [_("An enterprise settles to a corporate account.")]
    if personal and data.get("account_name") and data.get("account_name") != data.get(
            "id_card_name"):
        errors["account_name"] = [_("A personal account must be in the legal person's name.")]
    if not data.get("contact_id_number") and data.get("contact_name") and data.get(
            "contact_name") != data.get("id_card_name"):
        errors["contact_id_number"] = [_("Give the contact's ID number (the contact is not "
                                         "the legal person).")]
    for name, reason in rejected_fields(applyment).items():
        if name and name not in applyment.refilled_fields:
            errors.setdefault(name, []).append(
                _("WeChat rejected it: %(reason)s. Enter it again.") % {"reason": reason})
    if errors:
        raise ApplymentInvalid(_("The application is not complete."), fields=errors)


def _payload(applyment: WeChatApplyment, data: dict[str, str]) -> dict:
    """applyment_submit's arguments, sensitive values in clear: the library encrypts them
    (contact_info, id_card_info name/number, bank account name/number)."""
    media = applyment.media_ids
    scenes = ["SALES_SCENES_STORE"]
    sales_info: dict = {"biz_store_info": {
        "biz_store_name": data["store_name"], "biz_address_code": data["store_address_code"],
        "biz_store_address": data["store_address"],
        "store_entrance_pic": [media["store_entrance_pic"]]}}
    if data.get("mp_appid"):
        scenes.append("SALES_SCENES_MP")
        sales_info["mp_info"] = {"mp_appid": data["mp_appid"]}
    if data.get("mini_program_appid"):
        scenes.append("SALES_SCENES_MINI_PROGRAM")
        sales_info["mini_program_info"] = {"mini_program_appid": data["mini_program_appid"]}
    sales_info["sales_scenes_type"] = scenes
    legal_contact = not data.get("contact_id_number")
    return {
        "business_code": applyment.business_code,
        "contact_info": {
            "contact_type": "LEGAL" if legal_contact else "SUPER",
            "contact_name": data["contact_name"],
            "contact_id_number": data.get("contact_id_number") or data["id_card_number"],
            "mobile_phone": data["mobile_phone"], "contact_email": data["contact_email"],
        },
        "subject_info": {
            "subject_type": applyment.subject_type,
            "business_license_info": {
                "license_copy": media["license_copy"], "license_number": data["license_number"],
                "merchant_name": data["merchant_name"], "legal_person": data["legal_person"],
            },
            "identity_info": {"id_doc_type": "IDENTIFICATION_TYPE_IDCARD", "id_card_info": {
                "id_card_copy": media["id_card_copy"],
                "id_card_national": media["id_card_national"],
                "id_card_name": data["id_card_name"], "id_card_number": data["id_card_number"],
                "card_period_begin": data["id_card_valid_from"],
                "card_period_end": data["id_card_valid_until"],
            }},
        },
        "business_info": {"merchant_shortname": applyment.merchant_shortname,
                          "service_phone": data["service_phone"], "sales_info": sales_info},
        "settlement_info": {"settlement_id": SETTLEMENT_IDS[applyment.subject_type],
                            "qualification_type": QUALIFICATION_TYPE},
        "bank_account_info": {
            "bank_account_type": data["bank_account_type"], "account_name": data["account_name"],
            "account_bank": data["account_bank"], "bank_address_code": data["bank_address_code"],
            "account_number": data["account_number"],
        },
    }


# Following -------------------------------------------------------------------------------


def applyment_refresh(*, applyment: WeChatApplyment, actor: Actor) -> WeChatApplyment:
    """Ask WeChat where the application is and record it; safe to run any number of times
    (a FINISHED seen twice binds once). `actor` is who asked (the owner, the system)."""
    applyment.refresh_from_db()
    if applyment.state not in APPLYMENT_OPEN_STATES:
        return applyment
    asked_at = timezone.now()
    try:
        answer = _call(
            lambda c: c.applyment_query(business_code=applyment.business_code))
    except _NETWORK_ERRORS as exc:
        raise ApplymentUnavailable() from exc
    body = _parse(answer)
    state = _FROM_WECHAT.get(body.get("applyment_state", ""))
    if state is None:
        raise wechatpay_gateway.WeChatPayError(
            f"WeChat answered an unknown state {body.get('applyment_state')!r}.")
    sub_mchid = body.get("sub_mchid") or ""
    max_ratio = _max_ratio(sub_mchid) if state == S.FINISHED and sub_mchid else None
    changes = {
        "state_message": (body.get("applyment_state_msg") or "")[:300],
        "audit_detail": [
            {"field": d.get("field", ""), "field_name": d.get("field_name", ""),
             "reject_reason": d.get("reject_reason", "")}
            for d in body.get("audit_detail") or []
        ] if state == S.REJECTED else [],
        "sign_url": body.get("sign_url") or "",
        "legal_validation_url": body.get("legal_validation_url") or "",
        "sub_mchid": sub_mchid, "last_queried_at": timezone.now(), "last_error": "",
    }
    if state == S.REJECTED:
        changes["refilled_fields"] = []
    with transaction.atomic():
        locked = WeChatApplyment.objects.select_for_update().get(pk=applyment.pk)
        if locked.state not in APPLYMENT_OPEN_STATES or (
                locked.submitted_at and locked.submitted_at > asked_at):
            # Another refresh recorded it meanwhile (a FINISHED seen twice binds once), or
            # the owner resubmitted after this answer was given: it is stale.
            return locked
        if locked.state == state:
            for name, value in changes.items():
                setattr(locked, name, value)
            locked.save(update_fields=[*changes, "updated_at"])
            return locked
        # WeChat made the move; `actor` only asked, and is named in the reason.
        moved = APPLYMENT_MACHINE.transition(
            pk=locked.pk, to_status=state, actor=Actor.wechat(),
            reason=(f"seen by {actor.kind}: " + (changes["state_message"] or state))[:200],
            reference=str(locked.applyment_id or ""), changes=changes,
        )
        if state == S.FINISHED:
            _bind(moved, max_ratio)
        return moved


def _bind(applyment: WeChatApplyment, max_ratio: int | None) -> None:
    """The finished sub-merchant becomes the mall's approved binding, or the application
    is flagged for a platform admin when another mall holds that number approved."""
    if applyment.bound_at or not applyment.sub_mchid:
        return
    data = _data(applyment)
    try:
        with transaction.atomic():
            binding_from_applyment(
                merchant=applyment.merchant, sub_mchid=applyment.sub_mchid,
                sub_appid=data.get("mp_appid", ""),
                miniprogram_appid=data.get("mini_program_appid", ""),
                applyment_id=applyment.applyment_id, profit_sharing_max_ratio_bp=max_ratio,
            )
    except BindingTaken:
        applyment.flagged_reason = (f"Sub-merchant {applyment.sub_mchid} is bound to another "
                                    "mall; a platform admin must decide.")
        applyment.save(update_fields=["flagged_reason", "updated_at"])
        logger.warning("applyment %s finished on a sub-merchant another mall holds",
                       applyment.applyment_id)
        return
    applyment.bound_at = timezone.now()
    applyment.flagged_reason = ""
    applyment.save(update_fields=["bound_at", "flagged_reason", "updated_at"])


def applyment_bind_retry(*, applyment: WeChatApplyment) -> WeChatApplyment:
    """A platform admin resolved the conflict (revoked the other mall's binding): bind the
    finished sub-merchant to this mall now. Still flagged if the number is still taken."""
    with transaction.atomic():
        locked = WeChatApplyment.objects.select_for_update().get(pk=applyment.pk)
        if locked.state != S.FINISHED:
            raise IllegalApplymentTransition(_("Only a finished application is bound."))
        _bind(locked, None)
        return locked


def _max_ratio(sub_mchid: str) -> int | None:
    """The new sub-merchant's profit-sharing cap, best effort (the binding works without)."""
    try:
        body = _parse(_call(
            lambda c: c.profitsharing_config_query(sub_mchid=sub_mchid)))
    except (DomainError, *_NETWORK_ERRORS):
        return None
    return body.get("max_ratio")


def applyments_follow() -> int:
    """The beat task's work: refresh every application WeChat still works on. One failure
    (WeChat down, say) is recorded on that application and does not stop the others."""
    done = 0
    for applyment in WeChatApplyment.objects.filter(state__in=APPLYMENT_OPEN_STATES):
        try:
            applyment_refresh(applyment=applyment, actor=Actor.system())
            done += 1
        except DomainError as exc:
            WeChatApplyment.objects.filter(pk=applyment.pk).update(
                last_error=exc.message[:300], last_queried_at=timezone.now())
    return done


# The library's client, reached through the platform's gateway -----------------------------

# A network failure reaching WeChat: retryable, reported as 503.
_NETWORK_ERRORS = (requests.RequestException,)


def _call(call):
    return call(wechatpay_gateway.client())


def _parse(answer: tuple[int, str]) -> dict:
    code, message = answer
    if isinstance(message, bytes):
        message = message.decode("utf-8", "replace")
    return wechatpay_gateway.parse(code, message)
