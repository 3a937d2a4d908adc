"""Input rules of the shoppers domain: phone numbers and postal addresses.

Services call these before they write; each problem is reported per field, in words a
shopper can act on.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from storefront.shoppers.errors import AddressInvalid, PhoneInvalid

# Mainland mobile numbers: 11 digits, 1 then 3–9 (13x … 19x).
MOBILE_RE = re.compile(r"^1[3-9][0-9]{9}$")
# A landline with its area code, e.g. 0571-88888888 or 01088888888 (for delivery contacts).
LANDLINE_RE = re.compile(r"^0[0-9]{2,3}-?[0-9]{7,8}$")
_SEPARATORS_RE = re.compile(r"[\s\-()]")


def phone_normalize(raw: object) -> str:
    """'+86 138-0013-8000' → '13800138000'; anything that is not a mainland mobile number
    raises PhoneInvalid."""
    if not isinstance(raw, str):
        raise PhoneInvalid()
    phone = _SEPARATORS_RE.sub("", raw.strip())
    if phone.startswith("+86"):
        phone = phone[3:]
    elif phone.startswith("0086"):
        phone = phone[4:]
    elif phone.startswith("86") and len(phone) == 13:
        phone = phone[2:]
    if not MOBILE_RE.fullmatch(phone):
        raise PhoneInvalid()
    return phone


def _contact_phone(raw: str) -> str:
    """A recipient's phone: a mobile number (normalised) or a landline with area code."""
    try:
        return phone_normalize(raw)
    except PhoneInvalid:
        pass
    compact = re.sub(r"\s", "", raw)
    if LANDLINE_RE.fullmatch(compact):
        return compact
    raise ValueError


ADDRESS_FIELDS: dict[str, dict[str, Any]] = {
    # field: whether it is required, its length bounds, and what to say when it is missing
    "recipient": {"required": True, "min": 1, "max": 30,
                  "missing": gettext_lazy("Enter the recipient's name.")},
    "phone": {"required": True, "min": 1, "max": 20,
              "missing": gettext_lazy("Enter the recipient's phone number.")},
    "province": {"required": True, "min": 1, "max": 20,
                 "missing": gettext_lazy("Choose a province.")},
    "city": {"required": True, "min": 1, "max": 20, "missing": gettext_lazy("Choose a city.")},
    "district": {"required": False, "min": 0, "max": 20, "missing": ""},
    "detail": {"required": True, "min": 4, "max": 120,
               "missing": gettext_lazy("Enter the street, building and room number.")},
}


def address_clean(data: Mapping[str, Any]) -> dict[str, str]:
    """Validate a complete address (all of ADDRESS_FIELDS); returns the cleaned values or
    raises AddressInvalid with a message per field."""
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, str] = {}
    for name, rule in ADDRESS_FIELDS.items():
        value = data.get(name, "")
        if value is None:
            value = ""
        if not isinstance(value, str):
            errors[name] = [_("Enter text.")]
            continue
        value = " ".join(value.split())  # trim and collapse whitespace, drop newlines
        if not value:
            if rule["required"]:
                errors[name] = [rule["missing"]]
            cleaned[name] = ""
            continue
        if len(value) > rule["max"]:
            errors[name] = [_("Use at most %(count)d characters.") % {"count": rule["max"]}]
            continue
        if len(value) < rule["min"]:
            errors[name] = [_("Use at least %(count)d characters.") % {"count": rule["min"]}]
            continue
        if name == "phone":
            try:
                value = _contact_phone(value)
            except ValueError:
                errors[name] = [
                    _(
                        "Enter a mobile number (11 digits starting with 1) "
                        "or a landline with its area code, like 0571-88888888."
                    )
                ]
                continue
        cleaned[name] = value
    if errors:
        raise AddressInvalid(fields=errors)
    return cleaned
