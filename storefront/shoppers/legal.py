"""The mall's user agreement and privacy policy, and the shoppers' consent to them (PIPL).

The merchant writes both texts in the console; each save is a new version. Until the
merchant writes one, the platform's default text (zh-hans, naming the mall) is version 0.
Sign-in refuses to keep anything about a person (a phone, a code, an openid, a shopper row)
until they agree to the current versions, and the versions they agreed to are kept on the
shopper, so that a later change of either text asks them again.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction
from django.db.models import Max
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from storefront.shoppers.errors import ConsentOutdated, ConsentRequired, LegalTextInvalid
from storefront.shoppers.models import LegalText, Shopper

KINDS = (LegalText.Kind.TERMS, LegalText.Kind.PRIVACY)
MAX_BODY_CHARS = 30_000
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_AGREED = ("on", "true", "1", "yes")


@dataclass(frozen=True)
class Consent:
    """The versions of both texts a shopper agrees to."""

    terms_version: int
    privacy_version: int


@dataclass(frozen=True)
class LegalDocument:
    kind: str
    version: int
    body: str
    is_default: bool
    updated_at: datetime | None

    @property
    def title(self) -> str:
        return legal_title(self.kind)


def legal_title(kind: str) -> str:
    return _("User Agreement") if kind == LegalText.Kind.TERMS else _("Privacy Policy")


def _default_body(kind: str) -> str:
    """The platform's default text for this mall (its name and contact phone filled in)."""
    mall = getattr(connection, "tenant", None)
    return render_to_string(
        f"storefront/legal/default_{kind}.txt",
        {"mall_name": getattr(mall, "name", ""),
         "contact_phone": getattr(mall, "contact_phone", "")},
    ).strip()


def legal_versions_current() -> Consent:
    """The current version of each text: one indexed query."""
    latest = dict(
        LegalText.objects.values("kind").annotate(v=Max("version")).values_list("kind", "v")
    )
    return Consent(
        terms_version=latest.get(LegalText.Kind.TERMS, 0),
        privacy_version=latest.get(LegalText.Kind.PRIVACY, 0),
    )


def legal_document_get(*, kind: str) -> LegalDocument:
    """The text shoppers read now: the merchant's newest version, or the platform default
    (version 0, or a version whose body the merchant left empty)."""
    if kind not in KINDS:
        raise ValueError(f"unknown legal text {kind!r}")
    row = LegalText.objects.filter(kind=kind).order_by("-version").first()
    if row is None or not row.body.strip():
        return LegalDocument(
            kind=kind, version=row.version if row else 0, body=_default_body(kind),
            is_default=True, updated_at=row.created_at if row else None,
        )
    return LegalDocument(
        kind=kind, version=row.version, body=row.body, is_default=False,
        updated_at=row.created_at,
    )


def legal_body_clean(body: object) -> str:
    """Plain text with line breaks (rendered escaped): newlines normalised, control
    characters refused, at most MAX_BODY_CHARS."""
    if not isinstance(body, str):
        raise LegalTextInvalid()
    text = body.replace("\r\n", "\n").replace("\r", "\n").strip()
    if _CONTROL.search(text):
        raise LegalTextInvalid(_("The text contains control characters."))
    if len(text) > MAX_BODY_CHARS:
        raise LegalTextInvalid(
            _("The text is too long: at most %(count)d characters.") % {"count": MAX_BODY_CHARS}
        )
    return text


def legal_text_save(*, kind: str, body: object, actor_id: int | None) -> LegalText | None:
    """Save a new version of one text when it differs from the current one (None when
    nothing changed). Runs in the caller's transaction; versions of a kind are serialised
    by locking the newest row and backed by a unique constraint."""
    if kind not in KINDS:
        raise LegalTextInvalid(_("Unknown text."))
    text = legal_body_clean(body)
    with transaction.atomic():
        current = (
            LegalText.objects.select_for_update().filter(kind=kind).order_by("-version").first()
        )
        if (current.body if current else "") == text:
            return None
        return LegalText.objects.create(
            kind=kind, version=(current.version if current else 0) + 1, body=text,
            created_by_id=actor_id,
        )


def consent_from_form(data: Mapping) -> Consent | None:
    """The consent a sign-in form or API request carries: None unless `agree` is ticked;
    the versions the shopper was shown (`terms_version`, `privacy_version`), or the current
    ones when the client does not say."""
    agree = data.get("agree")
    if not (agree is True or (isinstance(agree, str) and agree.lower() in _AGREED)):
        return None
    current = legal_versions_current()
    return Consent(
        terms_version=_version(data.get("terms_version"), current.terms_version),
        privacy_version=_version(data.get("privacy_version"), current.privacy_version),
    )


def _version(value: object, default: int) -> int:
    if value in (None, ""):
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1  # never current: refused as outdated


def consent_check(*, consent: Consent | None) -> Consent:
    """Refuse sign-in unless the shopper agreed to the current versions of both texts."""
    if consent is None:
        raise ConsentRequired()
    if consent != legal_versions_current():
        raise ConsentOutdated()
    return consent


def shopper_consent_is_current(*, shopper: Shopper) -> bool:
    return shopper.consented_at is not None and legal_versions_current() == Consent(
        terms_version=shopper.consent_terms_version,
        privacy_version=shopper.consent_privacy_version,
    )


def shopper_consent_record(*, shopper: Shopper, consent: Consent) -> None:
    """Keep which versions the shopper agreed to, and when (in the caller's transaction)."""
    shopper.consent_terms_version = consent.terms_version
    shopper.consent_privacy_version = consent.privacy_version
    shopper.consented_at = timezone.now()
    shopper.save(update_fields=["consent_terms_version", "consent_privacy_version",
                                "consented_at"])


def shopper_consent_renew(*, shopper: Shopper, consent: Consent | None) -> None:
    """A signed-in shopper agrees to the texts as they are now."""
    consent = consent_check(consent=consent)
    with transaction.atomic():
        shopper_consent_record(shopper=shopper, consent=consent)
