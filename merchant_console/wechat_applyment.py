"""The owner's WeChat Pay application page (特约商户进件): fill the application, submit it,
follow WeChat's review (reasons per field, the signing link and its QR code) until the mall
is bound to its new sub-merchant. Saved values are never shown back, only that a field is
filled; the owner retypes what WeChat rejected or what changes."""

from __future__ import annotations

import qrcode
import qrcode.image.svg
from django import forms
from django.contrib import messages
from django.db import transaction
from django.shortcuts import redirect, render
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from core.actors import Actor
from core.errors import DomainError
from merchant_console.access import staff_page
from merchant_console.audit import audit_record
from tenants import applyment as onboarding
from tenants.models import ApplymentState
from tenants.selectors import merchant_current
from tenants.wechat_binding import binding_of_merchant

SUBJECT_CHOICES = [
    ("SUBJECT_TYPE_ENTERPRISE", _("Enterprise (company)")),
    ("SUBJECT_TYPE_INDIVIDUAL", _("Individual business (个体工商户)")),
]
ACCOUNT_CHOICES = [
    ("", _("— keep saved —")),
    ("BANK_ACCOUNT_TYPE_CORPORATE", _("Corporate account")),
    ("BANK_ACCOUNT_TYPE_PERSONAL", _("Personal account of the legal person")),
]
LABELS = {
    "license_number": _("Business licence number"),
    "merchant_name": _("Name on the business licence"),
    "legal_person": _("Legal person on the business licence"),
    "id_card_name": _("Legal person's name on the ID card"),
    "id_card_number": _("Legal person's ID card number"),
    "id_card_valid_from": _("ID card valid from"),
    "id_card_valid_until": _("ID card valid until"),
    "contact_name": _("Contact's name"),
    "contact_id_number": _("Contact's ID card number"),
    "mobile_phone": _("Contact's mobile"),
    "contact_email": _("Contact's e-mail"),
    "bank_account_type": _("Account type"),
    "account_name": _("Account name"),
    "account_bank": _("Bank"),
    "bank_address_code": _("Bank's area code"),
    "account_number": _("Account number"),
    "store_name": _("Store name"),
    "store_address_code": _("Store's area code"),
    "store_address": _("Store address"),
    "mp_appid": _("Official account app id"),
    "mini_program_appid": _("Mini-program app id"),
    "service_phone": _("Customer service phone"),
    "license_copy": _("Business licence photo"),
    "id_card_copy": _("ID card, portrait side"),
    "id_card_national": _("ID card, national emblem side"),
    "store_entrance_pic": _("Store entrance photo"),
}
HELP = {
    "id_card_valid_until": _("A date, or 长期 when the card does not expire."),
    "contact_id_number": _("Leave empty when the contact is the legal person."),
    "bank_address_code": _("The 6-digit area code of the bank's city, e.g. 440300."),
    "store_address_code": _("The 6-digit area code of the store's city, e.g. 440300."),
}
SECTIONS = [
    (_("Legal subject"), ["subject_type", "license_number", "merchant_name", "legal_person",
                    "license_copy"]),
    (_("Legal person"), ["id_card_name", "id_card_number", "id_card_valid_from",
                         "id_card_valid_until", "id_card_copy", "id_card_national"]),
    (_("Contact (super administrator)"), ["contact_name", "contact_id_number", "mobile_phone",
                                          "contact_email"]),
    (_("Settlement bank account"), ["bank_account_type", "account_name", "account_bank",
                                    "bank_address_code", "account_number"]),
    (_("Store and sales scene"), ["merchant_shortname", "service_phone", "store_name",
                                  "store_address_code", "store_address", "store_entrance_pic",
                                  "mp_appid", "mini_program_appid"]),
]


class ApplymentForm(forms.Form):
    """Every field optional: a draft may be partial, and an empty field keeps what is saved.
    Completeness is checked on submission (tenants.applyment)."""

    subject_type = forms.ChoiceField(label=_("Subject type"), choices=SUBJECT_CHOICES)
    merchant_shortname = forms.CharField(
        label=_("Merchant short name"), max_length=64,
        help_text=_("What shoppers see on the payment page."))

    def __init__(self, *args, filled=(), rejected=None, **kwargs):
        super().__init__(*args, **kwargs)
        rejected = rejected or {}
        for name, label in LABELS.items():
            if name in onboarding.IMAGE_FIELDS:
                field = forms.FileField(label=label, required=False)  # checked by the service
            elif name == "bank_account_type":
                field = forms.ChoiceField(label=label, choices=ACCOUNT_CHOICES, required=False)
            else:
                field = forms.CharField(label=label, required=False, max_length=512)
            help_parts = [str(HELP[name])] if name in HELP else []
            if name in filled:
                help_parts.append(str(_("Saved (hidden). Leave empty to keep it.")))
            field.help_text = " ".join(help_parts)
            field.filled = name in filled
            field.rejected = rejected.get(name, "")
            self.fields[name] = field
        for name in ("subject_type", "merchant_shortname"):
            self.fields[name].filled = False
            self.fields[name].rejected = rejected.get(name, "")

    def sections(self):
        return [(title, [self[name] for name in names]) for title, names in SECTIONS]


def _qr_svg(text: str) -> str:
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=6)
    return image.to_string(encoding="unicode")


@staff_page(owner_only=True)  # the payee account is the owner's business
def applyment_page(request):
    merchant = merchant_current()
    current = onboarding.applyment_of_merchant(merchant)
    # A finished application is the mall's record; a cancelled one may be started again.
    editable = current is None or current.state in (onboarding.EDITABLE | {
        ApplymentState.CANCELED})
    rejected = onboarding.rejected_fields(current) if current else {}
    initial = {}
    if current is not None and current.state in onboarding.EDITABLE:
        initial = {"subject_type": current.subject_type,
                   "merchant_shortname": current.merchant_shortname}
    filled = set(current.filled_fields) if current and current.state in onboarding.EDITABLE \
        else set()
    action = request.POST.get("action", "save") if request.method == "POST" else ""
    form = ApplymentForm(request.POST or None, request.FILES or None, initial=initial,
                         filled=filled, rejected=rejected)
    status = 200
    if action in ("save", "submit") and editable:
        status = 400
        if form.is_valid():
            status = _save_and_maybe_submit(request, merchant, form, submit=action == "submit")
        if status == 302:
            return redirect("console:wechat-pay-application")
    elif action == "refresh" and current is not None:
        try:
            with transaction.atomic():
                refreshed = onboarding.applyment_refresh(
                    applyment=current, actor=Actor.staff(request.user.pk))
                audit_record(actor=request.user, area="settings",
                             action="wechat_pay.application.refresh",
                             target=current.business_code, detail={"state": refreshed.state})
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Checked with WeChat."))
        return redirect("console:wechat-pay-application")
    elif action and not editable:
        form.add_error(None, str(onboarding.ApplymentLocked.default_message))
        status = 409
    context = {
        "form": form, "applyment": current, "editable": editable, "rejected": rejected,
        "general_rejection": rejected.get(""), "binding": binding_of_merchant(merchant),
        "sign_qr": mark_safe(_qr_svg(current.sign_url))  # noqa: S308 - qrcode's own SVG
        if current and current.sign_url and current.state in (
            ApplymentState.TO_BE_SIGNED, ApplymentState.SIGNING) else "",
    }
    return render(request, "console/wechat_applyment.html", context, status=status)


def _save_and_maybe_submit(request, merchant, form, *, submit: bool) -> int:
    data = form.cleaned_data
    values = {name: data.get(name) or "" for name in onboarding.TEXT_FIELDS}
    images = {name: data.get(name) for name in onboarding.IMAGE_FIELDS if data.get(name)}
    actor = Actor.staff(request.user.pk)
    try:
        with transaction.atomic():
            saved = onboarding.applyment_save(
                merchant=merchant, actor=actor, subject_type=data["subject_type"],
                merchant_shortname=data["merchant_shortname"], values=values, images=images)
            audit_record(actor=request.user, area="settings", action="wechat_pay.application.save",
                         target=saved.business_code,
                         detail={"changed": sorted([n for n, v in values.items() if v]
                                                   + list(images))})
    except DomainError as exc:
        _errors_to_form(form, exc)
        return exc.status
    if not submit:
        messages.success(request, _("Application saved. Submit it when it is complete."))
        return 302
    try:
        with transaction.atomic():
            sent = onboarding.applyment_submit(applyment=saved, actor=actor)
            audit_record(actor=request.user, area="settings",
                         action="wechat_pay.application.submit", target=sent.business_code,
                         detail={"applyment_id": sent.applyment_id})
    except DomainError as exc:
        # Saved already: back to the page (no typed value echoed) with what WeChat or the
        # completeness check said, field by field.
        messages.error(request, exc.message)
        for field, errors in exc.fields.items():
            label = LABELS.get(field) or (form.fields[field].label if field in form.fields
                                          else "")
            for error in errors:
                messages.error(request, f"{label}: {error}" if label else error)
        return 302
    messages.success(request, _("Application sent to WeChat Pay for review."))
    return 302


def _errors_to_form(form, exc: DomainError) -> None:
    for field, errors in exc.fields.items():
        for error in errors:
            form.add_error(field if field in form.fields else None, error)
    if not exc.fields or any(field not in form.fields for field in exc.fields):
        form.add_error(None, exc.message)
