"""Console → Settings: the mall's profile (name, logo, theme colour, contact phone — the
storefront shows them), the order periods, the shipping templates and the plan. Staff with
merchant_console.manage_settings (owner, admin); every change writes an audit row in its
own transaction. Also the mall's user agreement and privacy policy, which shoppers agree to
when they sign in (PIPL)."""

from __future__ import annotations

import re
from decimal import Decimal

from django import forms
from django.contrib import messages
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.errors import DomainError
from merchant_console.access import staff_page
from merchant_console.audit import audit_record
from storefront.catalog.images import image_check
from storefront.orders.models import OrderSettings
from storefront.orders.shop_settings import (
    PERIOD_BOUNDS,
    RegionFee,
    order_settings_update,
    shipping_template_create,
    shipping_template_get,
    shipping_template_list,
    shipping_template_update,
)
from storefront.shoppers import legal
from storefront.shoppers.models import LegalText
from tenants.models import DEFAULT_THEME_COLOUR
from tenants.services import merchant_profile_update

MANAGE_SETTINGS = "merchant_console.manage_settings"


def add_domain_error(form: forms.Form, exc: DomainError, rename: dict | None = None) -> None:
    """Put a service's refusal on the form: each field's messages on that field (renamed
    from the service's names to the form's), the rest above the form."""
    rename = rename or {}
    for field, errors in exc.fields.items():
        name = rename.get(field, field)
        for error in errors:
            form.add_error(name if name in form.fields else None, error)
    if not exc.fields:
        form.add_error(None, exc.message)


def form_post(request, form: forms.Form, save, *, saved: str, then: str,
              rename: dict | None = None):
    """The POST half every settings page shares: on valid input run `save(cleaned_data)`
    (one transaction, audited), flash `saved` (or "Nothing changed." when it reports no
    change) and redirect to `then`; otherwise keep the refusal on the form.
    Returns (redirect or None, the status to render the form with)."""
    if not form.is_valid():
        return None, 400
    try:
        changes = save(form.cleaned_data)
    except DomainError as exc:
        add_domain_error(form, exc, rename)
        return None, exc.status
    messages.success(request, saved if changes else _("Nothing changed."))
    return redirect(then), 200


# --- The mall's profile --------------------------------------------------------------------


class ProfileForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Mall name"), max_length=100)
    theme_colour = forms.CharField(
        label=gettext_lazy("Theme colour"), max_length=7,
        widget=forms.TextInput(attrs={"type": "color"}),
        help_text=gettext_lazy("Buttons, prices and tabs of the mall use it."))
    contact_phone = forms.CharField(label=gettext_lazy("Contact phone"), max_length=20,
                                    required=False)
    logo = forms.FileField(label=gettext_lazy("Logo"), required=False,
                           help_text=gettext_lazy("JPEG, PNG or WebP; shown in the mall's header."))
    remove_logo = forms.BooleanField(label=gettext_lazy("Remove the logo"), required=False)


def profile_save(*, request, data: dict, upload) -> dict:
    """Check the logo, change the profile and write the audit row, all or nothing.
    Raises DomainError (the logo's, or the tenants service's) before anything changes."""
    logo = image_check(upload=upload, field="logo").as_file() if upload else None
    with transaction.atomic():
        _, changes = merchant_profile_update(
            merchant_id=request.tenant.pk, name=data.get("name"),
            theme_colour=data.get("theme_colour"), contact_phone=data.get("contact_phone"),
            logo=logo, remove_logo=bool(data.get("remove_logo")),
        )
        if changes:
            audit_record(actor=request.user, area="settings", action="mall.profile_update",
                         target=request.tenant.slug, detail=changes)
    return changes


@staff_page(MANAGE_SETTINGS)
def mall_settings(request):
    mall = request.tenant
    form = ProfileForm(request.POST or None, request.FILES or None, initial={
        "name": mall.name, "theme_colour": mall.theme_colour or DEFAULT_THEME_COLOUR,
        "contact_phone": mall.contact_phone,
    })
    status = 200
    if request.method == "POST":
        done, status = form_post(
            request, form, lambda data: profile_save(request=request, data=data,
                                                     upload=data.get("logo")),
            saved=_("Saved."), then="console:settings")
        if done:
            return done
    return render(request, "console/settings.html", {"form": form, "tab": "mall"},
                  status=status)


# --- Order periods -------------------------------------------------------------------------


class OrderSettingsForm(forms.Form):
    auto_cancel_minutes = forms.IntegerField(
        label=gettext_lazy("Cancel unpaid orders after (minutes)"))
    auto_receive_days = forms.IntegerField(
        label=gettext_lazy("Mark shipped orders received after (days)"))
    after_sales_days = forms.IntegerField(
        label=gettext_lazy("After-sales window (days after receipt)"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, (low, high) in PERIOD_BOUNDS.items():
            self.fields[name].help_text = _("From %(low)s to %(high)s.") % {
                "low": low, "high": high}
        self.fields["after_sales_days"].help_text += " " + _(
            "Never less than the seven days' return without reason.")


def order_settings_save(*, request, data: dict) -> dict:
    with transaction.atomic():
        _, changes = order_settings_update(**data)
        if changes:
            audit_record(actor=request.user, area="settings", action="orders.settings_update",
                         detail=changes)
    return changes


@staff_page(MANAGE_SETTINGS)
def order_settings(request):
    current = OrderSettings.current()
    form = OrderSettingsForm(request.POST or None, initial={
        field: getattr(current, field) for field in PERIOD_BOUNDS})
    status = 200
    if request.method == "POST":
        done, status = form_post(
            request, form, lambda data: order_settings_save(request=request, data=data),
            saved=_("Saved."), then="console:settings-orders")
        if done:
            return done
    return render(request, "console/settings_orders.html", {"form": form, "tab": "orders"},
                  status=status)


# --- Shipping templates --------------------------------------------------------------------

_REGION_LINE = re.compile(r"^(?P<provinces>.+?)\s*[=:：]\s*(?P<fee>-?\d+(?:\.\d{1,2})?)$")
_PROVINCE_SPLIT = re.compile(r"[\s,，、]+")


def regions_parse(text: str) -> list[RegionFee]:
    """One region per line, "新疆 西藏 = 20.00": provinces, then the fee in yuan."""
    regions = []
    for number, line in enumerate((text or "").splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        match = _REGION_LINE.match(line)
        if match is None:
            raise forms.ValidationError(
                _("Line %(number)s: write the provinces, = and the fee, e.g. 新疆 西藏 = 20.00.")
                % {"number": number})
        provinces = [p for p in _PROVINCE_SPLIT.split(match["provinces"]) if p]
        regions.append(RegionFee(provinces=provinces,
                                 fee_fen=int(Decimal(match["fee"]) * 100)))
    return regions


def regions_text(template) -> str:
    return "\n".join(
        f"{' '.join(region.provinces)} = {region.fee_fen // 100}.{region.fee_fen % 100:02d}"
        for region in template.region_fees.all())


class ShippingTemplateForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=40)
    default_fee = forms.DecimalField(label=gettext_lazy("Fee (yuan)"), max_digits=12,
                                     decimal_places=2)
    free_above = forms.DecimalField(
        label=gettext_lazy("Free shipping from (yuan)"), max_digits=12, decimal_places=2,
        initial=0, help_text=gettext_lazy("Goods worth at least this ship free; 0: never."))
    is_default = forms.BooleanField(label=gettext_lazy("Default for checkout"), required=False)
    regions = forms.CharField(
        label=gettext_lazy("Fees by province"), required=False,
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": "新疆 西藏 = 20.00"}),
        help_text=gettext_lazy("One line per region: the provinces, then = and the fee in yuan."))

    def clean_regions(self):
        return regions_parse(self.cleaned_data.get("regions") or "")

    def service_arguments(self) -> dict:
        data = self.cleaned_data
        return {"name": data["name"], "default_fee_fen": int(data["default_fee"] * 100),
                "free_above_fen": int(data["free_above"] * 100),
                "is_default": data["is_default"], "regions": data["regions"]}


TEMPLATE_FIELDS = {"default_fee_fen": "default_fee", "free_above_fen": "free_above"}


def shipping_template_save(*, request, template_id: int | None, arguments: dict):
    """Create or change a template and audit it, in one transaction."""
    with transaction.atomic():
        if template_id is None:
            template = shipping_template_create(**arguments)
            audit_record(actor=request.user, area="settings", action="shipping.create",
                         target=str(template.pk),
                         detail={"name": template.name, "is_default": template.is_default,
                                 "default_fee_fen": template.default_fee_fen,
                                 "free_above_fen": template.free_above_fen,
                                 "regions": [[r.provinces, r.fee_fen]
                                             for r in arguments["regions"]]})
        else:
            template, change = shipping_template_update(template_id=template_id, **arguments)
            audit_record(actor=request.user, area="settings", action="shipping.update",
                         target=str(template.pk), detail=change)
    return template


@staff_page(MANAGE_SETTINGS)
def shipping_templates(request):
    return render(request, "console/settings_shipping.html", {
        "templates": shipping_template_list(), "tab": "shipping"})


@staff_page(MANAGE_SETTINGS)
def shipping_template_edit(request, template_id: int | None = None):
    template = None
    initial = {"free_above": 0, "default_fee": 0}
    if template_id is not None:
        try:
            template = shipping_template_get(template_id=template_id)
        except DomainError as exc:
            raise Http404(exc.message) from exc
        initial = {"name": template.name, "default_fee": Decimal(template.default_fee_fen) / 100,
                   "free_above": Decimal(template.free_above_fen) / 100,
                   "is_default": template.is_default, "regions": regions_text(template)}
    form = ShippingTemplateForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        done, status = form_post(
            request, form,
            lambda data: shipping_template_save(request=request, template_id=template_id,
                                                arguments=form.service_arguments()),
            saved=_("Saved."), then="console:settings-shipping", rename=TEMPLATE_FIELDS)
        if done:
            return done
    return render(request, "console/settings_shipping_form.html", {
        "form": form, "template": template, "tab": "shipping"}, status=status)


# --- User agreement and privacy policy (PIPL) -----------------------------------------------


class LegalTextsForm(forms.Form):
    terms = forms.CharField(
        label=gettext_lazy("User Agreement"), required=False,
        widget=forms.Textarea(attrs={"rows": 14}),
        help_text=gettext_lazy("Plain text; line breaks are kept. Leave empty to use the "
                               "platform's default text."))
    privacy = forms.CharField(
        label=gettext_lazy("Privacy Policy"), required=False,
        widget=forms.Textarea(attrs={"rows": 14}),
        help_text=gettext_lazy("Say what you collect, why, how long you keep it, the "
                               "shopper's rights under PIPL and how to contact you. Leave "
                               "empty to use the platform's default text."))


def legal_texts_save(*, request, data: dict) -> dict:
    """Each changed text becomes a new version (shoppers who agreed to the old one are asked
    again); the audit row is written in the same transaction."""
    changes = {}
    with transaction.atomic():
        for kind in legal.KINDS:
            saved = legal.legal_text_save(kind=kind, body=data.get(kind, ""),
                                          actor_id=request.user.pk)
            if saved is not None:
                changes[kind] = {"version": saved.version, "chars": len(saved.body)}
        if changes:
            audit_record(actor=request.user, area="settings", action="legal.update",
                         detail=changes)
    return changes


@staff_page(MANAGE_SETTINGS)
def legal_settings(request):
    current = {kind: LegalText.objects.filter(kind=kind).order_by("-version").first()
               for kind in legal.KINDS}
    form = LegalTextsForm(request.POST or None, initial={
        kind: row.body if row else "" for kind, row in current.items()})
    status = 200
    if request.method == "POST":
        done, status = form_post(
            request, form, lambda data: legal_texts_save(request=request, data=data),
            saved=_("Saved. Shoppers will be asked to agree to the new version."),
            then="console:settings-legal")
        if done:
            return done
    documents = [legal.legal_document_get(kind=kind) for kind in legal.KINDS]
    return render(request, "console/settings_legal.html",
                  {"form": form, "tab": "legal", "documents": documents}, status=status)
