"""The mall's order rules as its staff set them: the periods (auto-cancel, auto-receipt,
after-sales window) and the shipping templates checkout prices delivery with.

Each write validates everything first and changes nothing on a refusal; it returns what
changed ({field: [before, after]}) so the staff face can write its audit row in the same
transaction."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from storefront.orders.errors import SettingsInvalid, ShippingTemplateNotFound
from storefront.orders.models import OrderSettings, ShippingRegionFee, ShippingTemplate

# The bounds staff may choose within. The after-sales window never goes below 7 days:
# online sales in China carry seven days' return without reason (消费者权益保护法 art. 25).
PERIOD_BOUNDS = {
    "auto_cancel_minutes": (5, 1440),
    "auto_receive_days": (1, 60),
    "after_sales_days": (7, 90),
}
MAX_FEE_FEN = 100_000_00  # ¥100,000: a shipping fee or threshold beyond it is a typo
MAX_PROVINCE_LENGTH = 20


def _check_int(errors: dict, field: str, value, low: int, high: int) -> None:
    if type(value) is not int:
        errors[field] = ["Enter a whole number."]
    elif not low <= value <= high:
        errors[field] = [f"Choose a value from {low} to {high}."]


def order_settings_update(
    *, auto_cancel_minutes: int, auto_receive_days: int, after_sales_days: int,
) -> tuple[OrderSettings, dict[str, list]]:
    """Set the three periods; they apply to orders placed, shipped or received from now on
    (auto-cancel) or checked from now on (auto-receipt and the after-sales window, which the
    periodic jobs read each time they run)."""
    values = {"auto_cancel_minutes": auto_cancel_minutes,
              "auto_receive_days": auto_receive_days, "after_sales_days": after_sales_days}
    errors: dict[str, list[str]] = {}
    for field, value in values.items():
        _check_int(errors, field, value, *PERIOD_BOUNDS[field])
    if errors:
        raise SettingsInvalid(fields=errors)
    with transaction.atomic():
        OrderSettings.current()  # the row exists before it is locked
        row = OrderSettings.objects.select_for_update().get(pk=1)
        changes = {field: [getattr(row, field), value] for field, value in values.items()
                   if getattr(row, field) != value}
        if changes:
            for field, (_, value) in changes.items():
                setattr(row, field, value)
            row.save(update_fields=list(changes))
    return row, changes


@dataclass(frozen=True)
class RegionFee:
    provinces: list[str]
    fee_fen: int


def _clean_template(*, name, default_fee_fen, free_above_fen, regions) -> dict:
    errors: dict[str, list[str]] = {}
    name = (name or "").strip() if isinstance(name, str) else ""
    if not name:
        errors["name"] = ["Name the template."]
    elif len(name) > ShippingTemplate._meta.get_field("name").max_length:
        errors["name"] = ["Use at most 40 characters."]
    _check_int(errors, "default_fee_fen", default_fee_fen, 0, MAX_FEE_FEN)
    _check_int(errors, "free_above_fen", free_above_fen, 0, MAX_FEE_FEN)
    seen: set[str] = set()
    region_errors: list[str] = []
    for number, region in enumerate(regions, start=1):
        provinces = [p.strip() for p in region.provinces if isinstance(p, str) and p.strip()]
        if not provinces or len(provinces) != len(region.provinces):
            region_errors.append(f"Region {number}: name its provinces.")
        elif any(len(p) > MAX_PROVINCE_LENGTH for p in provinces):
            region_errors.append(f"Region {number}: a province name is too long.")
        elif seen & set(provinces):
            region_errors.append(
                f"Region {number}: {', '.join(sorted(seen & set(provinces)))} already has a fee.")
        if type(region.fee_fen) is not int or not 0 <= region.fee_fen <= MAX_FEE_FEN:
            region_errors.append(f"Region {number}: the fee must be from ¥0 to ¥100000.")
        seen |= set(provinces)
    if region_errors:
        errors["regions"] = region_errors
    if errors:
        raise SettingsInvalid(fields=errors)
    return {"name": name, "default_fee_fen": default_fee_fen, "free_above_fen": free_above_fen}


def _write_regions(template: ShippingTemplate, regions: list[RegionFee]) -> None:
    template.region_fees.all().delete()
    ShippingRegionFee.objects.bulk_create([
        ShippingRegionFee(template=template, provinces=[p.strip() for p in r.provinces],
                          fee_fen=r.fee_fen)
        for r in regions
    ])


def _describe(template: ShippingTemplate) -> dict:
    return {
        "name": template.name, "default_fee_fen": template.default_fee_fen,
        "free_above_fen": template.free_above_fen, "is_default": template.is_default,
        "regions": [[r.provinces, r.fee_fen] for r in template.region_fees.all()],
    }


def _make_default(template: ShippingTemplate) -> None:
    """Checkout prices with the default template; there is at most one (a partial unique
    index), so the old default steps down first, in the same transaction."""
    ShippingTemplate.objects.filter(is_default=True).exclude(pk=template.pk).update(
        is_default=False)


def shipping_template_list():
    return ShippingTemplate.objects.prefetch_related("region_fees").order_by("-is_default", "id")


def shipping_template_get(*, template_id: int) -> ShippingTemplate:
    template = (ShippingTemplate.objects.prefetch_related("region_fees")
                .filter(pk=template_id).first())
    if template is None:
        raise ShippingTemplateNotFound()
    return template


def shipping_template_create(
    *, name: str, default_fee_fen: int, free_above_fen: int, is_default: bool,
    regions: list[RegionFee],
) -> ShippingTemplate:
    """A new template; the mall's first one is its default whatever was asked, since
    checkout charges nothing for delivery until some template is."""
    cleaned = _clean_template(name=name, default_fee_fen=default_fee_fen,
                              free_above_fen=free_above_fen, regions=regions)
    with transaction.atomic():
        list(ShippingTemplate.objects.select_for_update().order_by("pk"))
        first = not ShippingTemplate.objects.exists()
        template = ShippingTemplate(**cleaned, is_default=bool(is_default) or first)
        if template.is_default:
            _make_default(template)
        template.save()
        _write_regions(template, regions)
    return template


def shipping_template_update(
    *, template_id: int, name: str, default_fee_fen: int, free_above_fen: int,
    is_default: bool, regions: list[RegionFee],
) -> tuple[ShippingTemplate, dict]:
    """Replace a template's fees and regions. The default cannot be un-made here (make
    another template the default instead), so checkout always has one once there is one.
    Returns the template and {"before": ..., "after": ...} for the audit row."""
    cleaned = _clean_template(name=name, default_fee_fen=default_fee_fen,
                              free_above_fen=free_above_fen, regions=regions)
    with transaction.atomic():
        templates = {t.pk: t for t in ShippingTemplate.objects.select_for_update().order_by("pk")}
        template = templates.get(template_id)
        if template is None:
            raise ShippingTemplateNotFound()
        if template.is_default and not is_default:
            raise SettingsInvalid(
                "Make another template the default instead.",
                fields={"is_default": ["The default template stays the default until "
                                       "another one is made the default."]})
        before = _describe(template)
        for field, value in cleaned.items():
            setattr(template, field, value)
        if is_default and not template.is_default:
            _make_default(template)
            template.is_default = True
        template.save()
        _write_regions(template, regions)
        after = _describe(template)
    return template, {"before": before, "after": after}
