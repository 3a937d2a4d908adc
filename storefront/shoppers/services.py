"""Writes of the shoppers domain: sign-in by phone code or WeChat, and the address book.

Every operation is one transaction (or, for code verification, a sequence of single-row
conditional UPDATEs that each stand on their own); network calls never happen while a
transaction is open.
"""

from __future__ import annotations

import logging
import math
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from storefront.shoppers.errors import (
    AddressInvalid,
    AddressLimitReached,
    LoginCodeAttemptsExceeded,
    LoginCodeExpired,
    LoginCodeRateLimited,
    LoginCodeUnavailable,
    LoginCodeWrong,
    ShopperInactive,
)
from storefront.shoppers.legal import Consent, consent_check, shopper_consent_record
from storefront.shoppers.lock_objects import phone_lock_for_codes, shopper_lock_for_addresses
from storefront.shoppers.models import Address, LoginCode, Shopper
from storefront.shoppers.selectors import address_get_for_shopper
from storefront.shoppers.senders import CodeSendFailed, code_sender_get, mask_phone
from storefront.shoppers.validation import address_clean, phone_normalize

logger = logging.getLogger(__name__)

CODE_LENGTH = 6
CODE_LIFETIME = timedelta(minutes=5)
CODE_MAX_ATTEMPTS = 5
CODE_RESEND_INTERVAL = timedelta(seconds=60)
CODE_HOURLY_LIMIT = 10
MAX_ADDRESSES = 20

_CODE_RE = re.compile(rf"^[0-9]{{{CODE_LENGTH}}}$")
_HASH_SCHEME = "hmac-sha256"
_HMAC_SALT = "storefront.shoppers.LoginCode"


# Phone + one-time code -------------------------------------------------------------------


@dataclass(frozen=True)
class LoginCodeSent:
    phone: str
    expires_in: int
    resend_after: int

    @property
    def phone_masked(self) -> str:
        return mask_phone(self.phone)


def _code_digest(*, nonce: str, phone: str, code: str) -> str:
    return salted_hmac(_HMAC_SALT, f"{nonce}:{phone}:{code}", algorithm="sha256").hexdigest()


def _code_hash(*, phone: str, code: str) -> str:
    """A keyed hash (HMAC with SECRET_KEY and a per-code nonce): a leaked table does not
    reveal live codes, and a slow password hash would add nothing for six digits."""
    nonce = secrets.token_hex(8)
    return f"{_HASH_SCHEME}${nonce}${_code_digest(nonce=nonce, phone=phone, code=code)}"


def _code_matches(*, stored: str, phone: str, code: str) -> bool:
    try:
        scheme, nonce, digest = stored.split("$", 2)
    except ValueError:
        return False
    if scheme != _HASH_SCHEME:
        return False
    return constant_time_compare(digest, _code_digest(nonce=nonce, phone=phone, code=code))


def _seconds(delta: timedelta) -> int:
    return max(1, math.ceil(delta.total_seconds()))


def login_code_request(*, phone: str, consent: Consent | None) -> LoginCodeSent:
    """Create a 6-digit sign-in code for `phone` and send it.

    Refused (ConsentRequired, ConsentOutdated) before the phone is stored anywhere unless
    the person agreed to the current user agreement and privacy policy (PIPL).

    At most one code per phone every 60 s and ten an hour (LoginCodeRateLimited, 429);
    requests for one phone are serialised by an advisory lock so racing requests cannot both
    pass the check. Only the newest code of a phone can be used. The code is sent after the
    row is committed (the caller holds no transaction); if the sender fails, the row is
    removed so the shopper may simply try again.
    """
    consent_check(consent=consent)
    phone = phone_normalize(phone)
    sender = code_sender_get()
    code = f"{secrets.randbelow(10**CODE_LENGTH):0{CODE_LENGTH}d}"
    with transaction.atomic():
        phone_lock_for_codes(phone=phone)
        now = timezone.now()
        last_hour = LoginCode.objects.filter(phone=phone, created_at__gt=now - timedelta(hours=1))
        created = list(last_hour.order_by("created_at").values_list("created_at", flat=True))
        if created and now - created[-1] < CODE_RESEND_INTERVAL:
            wait = _seconds(created[-1] + CODE_RESEND_INTERVAL - now)
            raise LoginCodeRateLimited(
                ngettext(
                    "A code was just sent. You can ask for another in %(seconds)d second.",
                    "A code was just sent. You can ask for another in %(seconds)d seconds.",
                    wait,
                ) % {"seconds": wait},
                retry_after=wait,
            )
        if len(created) >= CODE_HOURLY_LIMIT:
            wait = _seconds(created[0] + timedelta(hours=1) - now)
            raise LoginCodeRateLimited(
                ngettext(
                    "Too many codes were sent to this number. Try again in %(minutes)d minute.",
                    "Too many codes were sent to this number. Try again in %(minutes)d minutes.",
                    math.ceil(wait / 60),
                ) % {"minutes": math.ceil(wait / 60)},
                retry_after=wait,
            )
        row = LoginCode.objects.create(
            phone=phone, code_hash=_code_hash(phone=phone, code=code),
            expires_at=now + CODE_LIFETIME,
        )
    lifetime = int(CODE_LIFETIME.total_seconds())
    try:
        sender.send(phone=phone, code=code, expires_in=lifetime)
    except CodeSendFailed:
        logger.exception("could not send a login code to %s", mask_phone(phone))
        LoginCode.objects.filter(pk=row.pk).delete()
        raise LoginCodeUnavailable() from None
    logger.info("login code sent to %s", mask_phone(phone))
    return LoginCodeSent(
        phone=phone, expires_in=lifetime,
        resend_after=int(CODE_RESEND_INTERVAL.total_seconds()),
    )


def login_code_verify(
    *, phone: str, code: str, consent: Consent | None, current: Shopper | None = None
) -> Shopper:
    """Check `code` against the newest code sent to `phone`; on success the code is spent
    and the shopper of that phone returned: created on first sign-in, or — when `current`
    (the shopper already signed in, e.g. by WeChat) has no phone yet — `current` with the
    phone linked.

    Each check first *reserves* an attempt with a conditional UPDATE (attempts < 5), so no
    more than five guesses are ever compared, however many requests race; a wrong guess
    stays counted. The code is spent by a conditional UPDATE on `used_at IS NULL`: of any
    number of concurrent correct verifications, exactly one signs in. Call it outside a
    transaction, or a rolled-back caller would un-count wrong attempts.

    Without consent to the current texts nothing happens (no attempt counted, no shopper);
    on success the consented versions are recorded on the shopper.
    """
    consent_check(consent=consent)
    phone = phone_normalize(phone)
    code = code.strip() if isinstance(code, str) else ""
    if not _CODE_RE.fullmatch(code):
        raise LoginCodeWrong(_("Enter the 6-digit code from the text message."))
    now = timezone.now()
    latest = LoginCode.objects.filter(phone=phone).order_by("-created_at", "-id").first()
    if latest is None or latest.used_at is not None or latest.expires_at <= now:
        raise LoginCodeExpired()
    reserved = LoginCode.objects.filter(
        pk=latest.pk, used_at__isnull=True, expires_at__gt=now, attempts__lt=CODE_MAX_ATTEMPTS
    ).update(attempts=F("attempts") + 1)
    if not reserved:
        latest.refresh_from_db(fields=["used_at", "attempts"])
        if latest.used_at is not None:
            raise LoginCodeExpired()
        raise LoginCodeAttemptsExceeded()
    if not _code_matches(stored=latest.code_hash, phone=phone, code=code):
        attempts = LoginCode.objects.filter(pk=latest.pk).values_list("attempts", flat=True)[0]
        left = CODE_MAX_ATTEMPTS - attempts
        if left <= 0:
            raise LoginCodeAttemptsExceeded()
        raise LoginCodeWrong(
            ngettext(
                "This code is not right. %(left)d attempt left.",
                "This code is not right. %(left)d attempts left.",
                left,
            ) % {"left": left}
        )
    with transaction.atomic():
        spent = LoginCode.objects.filter(pk=latest.pk, used_at__isnull=True).update(used_at=now)
        if not spent:
            raise LoginCodeExpired()
        shopper = _shopper_for_identity(
            lookup={"phone": phone}, current=current, link_field="phone"
        )
        shopper_consent_record(shopper=shopper, consent=consent)
    return shopper


def _shopper_for_identity(
    *, lookup: dict[str, str], current: Shopper | None, link_field: str,
    defaults: dict[str, str] | None = None,
) -> Shopper:
    """The shopper owning an identity (a phone, an openid): the one that has it; else the
    signed-in shopper, when they have none of that kind yet (the identity is linked to
    them); else a new shopper. Runs inside the caller's transaction."""
    shopper = Shopper.objects.select_for_update().filter(**lookup).first()
    if shopper is None and current is not None:
        try:
            with transaction.atomic():  # a savepoint: the identity may be taken meanwhile
                linked = Shopper.objects.filter(
                    pk=current.pk, is_active=True, **{f"{link_field}__isnull": True}
                ).update(**lookup, **(defaults or {}))
        except IntegrityError:
            linked = 0
        if linked:
            shopper = Shopper.objects.get(pk=current.pk)
            logger.info("shopper %s linked a %s", shopper.pk, link_field)
    if shopper is None:
        shopper, created = Shopper.objects.get_or_create(**lookup, defaults=defaults or {})
        if created:
            logger.info("shopper %s created by %s sign-in", shopper.pk, link_field)
    if not shopper.is_active:
        raise ShopperInactive()
    return shopper


def login_codes_purge(*, older_than: timedelta = timedelta(days=1)) -> int:
    """Delete codes that can no longer matter (expired and past every rate-limit window)."""
    deleted, _details = LoginCode.objects.filter(
        created_at__lt=timezone.now() - max(older_than, timedelta(hours=1))
    ).delete()
    return deleted


# WeChat ----------------------------------------------------------------------------------


def shopper_sign_in_with_wechat(
    *,
    openid: str,
    unionid: str = "",
    nickname: str | None = None,
    avatar_url: str | None = None,
    current: Shopper | None = None,
    consent: Consent | None,
) -> Shopper:
    """The shopper of a WeChat `openid`: the one that has it; else `current` (the signed-in
    shopper) when they have no openid yet, so a phone shopper who authorises WeChat keeps
    their account and gains the openid payments need; else a new shopper.

    Nickname and avatar are written only when given (the snsapi_userinfo scope), so a silent
    snsapi_base sign-in never erases what the shopper chose to share before. Nothing is
    stored without consent to the current texts (PIPL), which is recorded on the shopper."""
    consent_check(consent=consent)
    if not openid or len(openid) > 64:
        raise ValueError("a WeChat openid is 1–64 characters")
    profile = {"wechat_unionid": unionid[:64]} if unionid else {}
    if nickname is not None:
        profile["nickname"] = nickname[:64]
    if avatar_url is not None:
        profile["avatar_url"] = avatar_url[:500]
    with transaction.atomic():
        shopper = _shopper_for_identity(
            lookup={"wechat_openid": openid}, current=current, link_field="wechat_openid",
            defaults=profile,
        )
        changed = [name for name, value in profile.items() if getattr(shopper, name) != value]
        for name in changed:
            setattr(shopper, name, profile[name])
        if changed:
            shopper.save(update_fields=changed)
        shopper_consent_record(shopper=shopper, consent=consent)
    return shopper


# Addresses -------------------------------------------------------------------------------


def _switch_default(*, shopper: Shopper, address: Address) -> None:
    """Clear the old default, then set the new one: inside the caller's transaction, with
    the shopper's row locked, so the one-default constraint never sees two."""
    Address.objects.filter(shopper=shopper, is_default=True).exclude(pk=address.pk).update(
        is_default=False
    )
    if not address.is_default:
        Address.objects.filter(pk=address.pk).update(is_default=True)
        address.is_default = True


def _flag(value: Any, field: str = "is_default") -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "on", "1", 1):
        return True
    if value in ("false", "off", "0", 0, "", None):
        return False
    raise AddressInvalid(fields={field: [_("Must be true or false.")]})


def address_create(
    *,
    shopper: Shopper,
    recipient: str,
    phone: str,
    province: str,
    city: str,
    detail: str,
    district: str = "",
    is_default: bool = False,
) -> Address:
    """Add an address. The first address of a shopper is the default; `is_default` makes
    a later one the default in the same transaction."""
    cleaned = address_clean(
        {"recipient": recipient, "phone": phone, "province": province, "city": city,
         "district": district, "detail": detail}
    )
    make_default = _flag(is_default)
    with transaction.atomic():
        shopper_lock_for_addresses(shopper_id=shopper.pk)
        count = Address.objects.filter(shopper=shopper).count()
        if count >= MAX_ADDRESSES:
            raise AddressLimitReached(
                _("You can save at most %(count)d addresses. Delete one first.")
                % {"count": MAX_ADDRESSES}
            )
        address = Address.objects.create(shopper=shopper, is_default=False, **cleaned)
        if make_default or count == 0:
            _switch_default(shopper=shopper, address=address)
    return address


def address_update(*, shopper: Shopper, address_id: object, data: Mapping[str, Any]) -> Address:
    """Change some fields of the shopper's own address (a partial update: fields not in
    `data` keep their value). `is_default: true` makes it the default; `false` on the
    default leaves the shopper without one."""
    unknown = set(data) - {"recipient", "phone", "province", "city", "district", "detail",
                           "is_default"}
    if unknown:
        raise AddressInvalid(fields={name: [_("Unknown field.")] for name in sorted(unknown)})
    make_default = _flag(data["is_default"]) if "is_default" in data else None
    with transaction.atomic():
        shopper_lock_for_addresses(shopper_id=shopper.pk)
        address = address_get_for_shopper(shopper=shopper, address_id=address_id)
        merged = {**address.snapshot(), **{k: v for k, v in data.items() if k != "is_default"}}
        cleaned = address_clean(merged)
        changed = [name for name, value in cleaned.items() if getattr(address, name) != value]
        for name in changed:
            setattr(address, name, cleaned[name])
        if changed:
            address.save(update_fields=changed)
        if make_default is True:
            _switch_default(shopper=shopper, address=address)
        elif make_default is False and address.is_default:
            Address.objects.filter(pk=address.pk).update(is_default=False)
            address.is_default = False
    return address


def address_delete(*, shopper: Shopper, address_id: object) -> None:
    """Delete the shopper's own address; when it was the default, the newest remaining
    address becomes the default."""
    with transaction.atomic():
        shopper_lock_for_addresses(shopper_id=shopper.pk)
        address = address_get_for_shopper(shopper=shopper, address_id=address_id)
        was_default = address.is_default
        address.delete()
        if was_default:
            successor = Address.objects.filter(shopper=shopper).order_by("-id").first()
            if successor is not None:
                _switch_default(shopper=shopper, address=successor)


def address_set_default(*, shopper: Shopper, address_id: object) -> Address:
    """Make the shopper's own address the default: the old default is cleared and the new
    one set in one transaction."""
    with transaction.atomic():
        shopper_lock_for_addresses(shopper_id=shopper.pk)
        address = address_get_for_shopper(shopper=shopper, address_id=address_id)
        _switch_default(shopper=shopper, address=address)
    return address
