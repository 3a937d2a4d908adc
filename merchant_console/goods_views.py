"""商品: the goods list with bulk shelf changes, the product editor (spec matrix, gallery,
description, commission overrides), categories, banners, and bulk import and export.

Views are thin: they parse the form, call storefront.catalog's services inside one
transaction together with the staff audit row, and show the domain's refusal as a message.
The staff API (merchant_console.api.products) offers the same actions with the same
permissions."""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.actors import Actor
from core.errors import DomainError
from merchant_console import exports
from merchant_console.audit import audit_record
from merchant_console.models import ExportJob
from merchant_console.pages import domain_error_text, flash_refusal, found_or_404
from storefront.catalog import selectors, services, transfer
from storefront.catalog.errors import CatalogInvalid
from storefront.catalog.models import Category, CommissionMode, ImportJob, Product

from .access import staff_page

PAGE_SIZE = 25


def _actor(request) -> Actor:
    return Actor.staff(request.user.pk)


def _audit(request, action: str, target, detail: dict | None = None) -> None:
    audit_record(actor=request.user, area="goods", action=action, target=str(target),
                 detail=detail or {})


def _int_or_none(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _fen(errors: list[str], label: str, text, *, required: bool = True) -> int:
    """"12.5" yuan -> 1250 fen; a message in `errors` when it is not an amount."""
    text = str(text or "").strip().replace("¥", "")
    if not text:
        if required:
            errors.append(_("%(field)s: enter an amount.") % {"field": label})
        return 0
    try:
        amount = Decimal(text)
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite() or amount < 0 or (
            amount != amount.quantize(Decimal("0.01"))) or amount > Decimal("999999.99"):
        errors.append(_("%(field)s: %(value)s is not an amount in yuan (at most 2 decimals).")
                      % {"field": label, "value": text})
        return 0
    return int(amount * 100)


def _whole(errors: list[str], label: str, text) -> int:
    text = str(text or "").strip()
    try:
        return int(text or "0")
    except ValueError:
        errors.append(_("%(field)s: %(value)s is not a whole number.")
                      % {"field": label, "value": text})
        return 0


def _rates(errors: list[str], label: str, text) -> tuple[int, ...]:
    """"10, 5" (percent per tier) -> (1000, 500) basis points."""
    rates = []
    for part in str(text or "").replace("，", ",").split(","):
        part = part.strip().removesuffix("%")
        if not part:
            continue
        try:
            percent = Decimal(part)
        except InvalidOperation:
            percent = None
        if percent is None or not percent.is_finite() or (
                percent * 100 != (percent * 100).to_integral_value()):
            errors.append(_("%(field)s: %(value)s is not a percentage (at most 2 decimals).")
                          % {"field": label, "value": part})
            return ()
        rates.append(int(percent * 100))
    return tuple(rates)


def _commission(errors: list[str], label: str, mode, fixed, rates) -> services.CommissionInput:
    mode = mode or CommissionMode.INHERIT
    return services.CommissionInput(
        mode=mode,
        fixed_fen=_fen(errors, label, fixed, required=False) if mode == "fixed" else 0,
        rates_bp=_rates(errors, label, rates) if mode == "rates" else (),
    )


def _back(request, default: str):
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect(default)


# --- the goods list -----------------------------------------------------------------------


@staff_page("catalog.view_product")
def products(request):
    category_id = _int_or_none(request.GET.get("category"))
    shelf = request.GET.get("shelf", "")
    stock = request.GET.get("stock", "")
    q = request.GET.get("q", "").strip()
    on_shelf = {"on": True, "off": False}.get(shelf)
    if stock not in selectors.STOCK_FILTERS:
        stock = ""
    listing = selectors.product_page_for_staff(category_id=category_id, q=q,
                                               on_shelf=on_shelf, stock=stock or None)
    page = Paginator(listing, PAGE_SIZE).get_page(request.GET.get("page"))
    filters = {key: value for key, value in (("category", category_id or ""), ("shelf", shelf),
                                             ("stock", stock), ("q", q)) if value}
    return render(request, "console/goods/products.html", {
        "page": page, "categories": list(selectors.category_list()),
        "category_id": category_id, "shelf": shelf, "stock": stock, "q": q,
        "query": urlencode(filters), "low_stock": selectors.LOW_STOCK,
        "can_change": request.user.has_perm("catalog.change_product"),
        "can_add": request.user.has_perm("catalog.add_product"),
    })


@require_POST
@staff_page("catalog.change_product")
def products_shelf(request):
    ids = [pk for pk in map(_int_or_none, request.POST.getlist("product")) if pk]
    on_shelf = request.POST.get("action") == "on"
    try:
        with transaction.atomic():
            changed = services.products_set_shelf(product_ids=ids, on_shelf=on_shelf,
                                                  actor=_actor(request))
            _audit(request, "product.shelf_on" if on_shelf else "product.shelf_off",
                   ",".join(map(str, sorted(ids))), {"products": sorted(ids)})
    except DomainError as exc:
        messages.error(request, domain_error_text(exc))
    else:
        messages.success(request, (_("%(count)d products are on the shelf.") if on_shelf else
                                   _("%(count)d products are off the shelf."))
                         % {"count": len(changed)})
    return _back(request, reverse("console:products"))


# --- the product editor -------------------------------------------------------------------


def _editor_state(product: Product | None) -> dict:
    """What goods.js starts from: the dimensions and, per active SKU, its values' texts
    and current figures (the same shape the page posts back)."""
    if product is None:
        return {"dimensions": [], "skus": []}
    dimensions = list(product.dimensions.all())
    names = {value.pk: value.value for dim in dimensions for value in dim.values.all()}
    skus = []
    for sku in sorted(product.skus.all(), key=lambda sku: not sku.is_active):
        ids = [int(part) for part in sku.spec_key.split("-")] if sku.spec_key else []
        if any(pk not in names for pk in ids):
            continue  # a combination whose value is gone: kept for orders, not in the grid
        skus.append({
            "values": [names.get(pk, "") for pk in ids],
            "price": _yuan(sku.price_fen), "stock": str(sku.stock),
            "market_price": _yuan(sku.market_price_fen),
            "commission_mode": sku.commission_mode,
            "commission_fixed": _yuan(sku.commission_fixed_fen),
            "commission_rates": _percent(sku.commission_rates_bp),
            "is_active": sku.is_active,
        })
    return {"dimensions": [{"name": dim.name, "values": [value.value for value in
                                                          dim.values.all()]}
                           for dim in dimensions],
            "skus": skus}


def _parse_matrix(errors: list[str], raw: str):
    try:
        state = json.loads(raw or "{}")
    except ValueError:
        state = None
    if not isinstance(state, dict) or not isinstance(state.get("dimensions", []), list) or \
            not isinstance(state.get("skus", []), list):
        errors.append(_("The spec matrix could not be read; reload the page."))
        return {"dimensions": [], "skus": []}, [], []
    dimensions = []
    for item in state.get("dimensions", []):
        if not isinstance(item, dict) or not isinstance(item.get("values"), list):
            errors.append(_("The spec matrix could not be read; reload the page."))
            return state, [], []
        dimensions.append(services.SpecDimensionInput(
            name=str(item.get("name", "")), values=[str(value) for value in item["values"]]))
    cells = []
    for item in state.get("skus", []):
        if not isinstance(item, dict) or not isinstance(item.get("values"), list):
            errors.append(_("The spec matrix could not be read; reload the page."))
            return state, [], []
        values = tuple(str(value) for value in item["values"])
        label = " / ".join(values) or _("Price and stock")
        cells.append(services.SkuCellInput(
            values=values,
            price_fen=_fen(errors, f"{label} · {_('price')}", item.get("price")),
            stock=_whole(errors, f"{label} · {_('stock')}", item.get("stock")),
            market_price_fen=_fen(errors, f"{label} · {_('market price')}",
                                  item.get("market_price"), required=False),
            commission=_commission(errors, f"{label} · {_('commission')}",
                                   item.get("commission_mode"), item.get("commission_fixed"),
                                   item.get("commission_rates")),
            is_active=item.get("is_active", True) not in (False, "false", "0", ""),
        ))
    return state, dimensions, cells


def _editor_save(request, product: Product | None):
    post = request.POST
    errors: list[str] = []
    state, dimensions, cells = _parse_matrix(errors, post.get("matrix", ""))
    base_price = _fen(errors, _("Price"), post.get("base_price"))
    commission = _commission(errors, _("Commission"), post.get("commission_mode"),
                             post.get("commission_fixed"), post.get("commission_rates"))
    if not cells:
        errors.append(_("Give the price and stock of at least one SKU."))
    if not errors:
        try:
            with transaction.atomic():
                saved = services.product_save(
                    product_id=product.pk if product else None,
                    title=post.get("title", ""), subtitle=post.get("subtitle", ""),
                    category_id=_int_or_none(post.get("category")),
                    description_html=post.get("description_html", ""),
                    base_price_fen=base_price or 1, dimensions=dimensions, cells=cells,
                    commission=commission, on_shelf=post.get("on_shelf") == "on",
                    actor=_actor(request),
                )
                _audit(request, "product.update" if product else "product.create", saved.pk,
                       {"title": saved.title, "skus": len(cells),
                        "on_shelf": saved.is_on_shelf})
        except DomainError as exc:
            flash_refusal(request, exc)
        else:
            messages.success(request, _("Saved %(title)s.") % {"title": saved.title})
            return redirect("console:product-edit", product_id=saved.pk)
    for error in errors:
        messages.error(request, error)
    return _editor_render(request, product, state=state, form=post, status=400)


def _yuan(fen: int) -> str:
    return f"{Decimal(fen) / 100:.2f}" if fen else ""


def _percent(rates) -> str:
    return ", ".join(f"{Decimal(rate) / 100:g}" for rate in rates)


def _editor_values(product: Product | None, form) -> dict:
    """The editor's fields: what was posted (after a refusal), or the product's."""
    if form:
        return {name: form.get(name, "") for name in (
            "title", "subtitle", "base_price", "commission_mode", "commission_fixed",
            "commission_rates")} | {"category": _int_or_none(form.get("category")),
                                    "on_shelf": form.get("on_shelf") == "on",
                                    "description": services.description_clean(
                                        form.get("description_html", "")[:50_000])}
    if product is None:
        return {"commission_mode": CommissionMode.INHERIT, "on_shelf": False}
    return {
        "title": product.title, "subtitle": product.subtitle, "category": product.category_id,
        "base_price": _yuan(product.base_price_fen), "on_shelf": product.is_on_shelf,
        "commission_mode": product.commission_mode,
        "commission_fixed": _yuan(product.commission_fixed_fen),
        "commission_rates": _percent(product.commission_rates_bp),
        "description": product.description_html,
    }


def _editor_render(request, product: Product | None, *, state=None, form=None, status=200):
    return render(request, "console/goods/editor.html", {
        "product": product,
        "categories": list(selectors.category_list()),
        "state": state if state is not None else _editor_state(product),
        "values": _editor_values(product, form),
        "commission_modes": CommissionMode.choices,
        "labels": {"remove": _("Remove"), "dimension": _("Dimension name"),
                   "values": _("Values, separated by commas"), "single": _("Price and stock"),
                   "on_sale": _("On sale"),
                   "modes": [[value, _(label)] for value, label in CommissionMode.choices]},
        "can_save": request.user.has_perm(
            "catalog.change_product" if product else "catalog.add_product"),
        "images": list(product.images.all()) if product else [],
    }, status=status)


@staff_page("catalog.add_product")
def product_new(request):
    if request.method == "POST":
        return _editor_save(request, None)
    return _editor_render(request, None)


@staff_page("catalog.view_product")
def product_edit(request, product_id: int):
    product = found_or_404(selectors.product_get, product_id=product_id)
    if request.method == "POST":
        if not request.user.has_perm("catalog.change_product"):
            raise PermissionDenied
        return _editor_save(request, product)
    return _editor_render(request, product)


# --- the gallery --------------------------------------------------------------------------


def _gallery(request, product_id: int, *, status=200):
    product = found_or_404(selectors.product_get, product_id=product_id)
    return render(request, "console/goods/_gallery.html", {
        "product": product, "images": list(product.images.all()), "can_save": True,
    }, status=status)


def _gallery_answer(request, product_id: int):
    if request.htmx:
        return _gallery(request, product_id)
    return redirect("console:product-edit", product_id=product_id)


@require_POST
@staff_page("catalog.change_product")
def product_image_add(request, product_id: int):
    try:
        with transaction.atomic():
            image = services.product_image_add(product_id=product_id,
                                               upload=request.FILES.get("image"),
                                               actor=_actor(request))
            _audit(request, "product.image_add", product_id, {"image": image.pk})
    except DomainError as exc:
        messages.error(request, domain_error_text(exc))
    return _gallery_answer(request, product_id)


@require_POST
@staff_page("catalog.change_product")
def product_image_delete(request, product_id: int, image_id: int):
    try:
        with transaction.atomic():
            services.product_image_delete(product_id=product_id, image_id=image_id,
                                          actor=_actor(request))
            _audit(request, "product.image_delete", product_id, {"image": image_id})
    except DomainError as exc:
        messages.error(request, domain_error_text(exc))
    return _gallery_answer(request, product_id)


@require_POST
@staff_page("catalog.change_product")
def product_images_order(request, product_id: int):
    ids = [_int_or_none(pk) for pk in request.POST.getlist("image")]
    try:
        if None in ids:
            raise CatalogInvalid(fields={"image": [_("Give image ids.")]})
        with transaction.atomic():
            services.product_images_reorder(product_id=product_id, image_ids=ids,
                                            actor=_actor(request))
            _audit(request, "product.images_reorder", product_id, {"order": ids})
    except DomainError as exc:
        if request.htmx:
            return HttpResponseBadRequest(domain_error_text(exc))
        messages.error(request, domain_error_text(exc))
    return _gallery_answer(request, product_id)


# --- categories ---------------------------------------------------------------------------


def _category_fields(request) -> dict:
    post = request.POST
    errors: list[str] = []
    fields = {
        "name": post.get("name", ""),
        "parent_id": _int_or_none(post.get("parent")),
        "sort_weight": _whole(errors, _("Sort order"), post.get("sort_weight")),
        "is_active": post.get("is_active") == "on",
    }
    if errors:
        raise CatalogInvalid(fields={"sort_weight": errors})
    if request.FILES.get("icon"):
        fields["icon"] = request.FILES["icon"]
    elif post.get("icon_clear") == "on":
        fields["icon"] = None  # back to the name's initial in the mall
    return fields


@staff_page("catalog.view_category")
def categories(request):
    if request.method == "POST":
        if not request.user.has_perm("catalog.add_category"):
            raise PermissionDenied
        try:
            with transaction.atomic():
                category = services.category_create(**_category_fields(request))
                _audit(request, "category.create", category.pk, {"name": category.name})
        except DomainError as exc:
            messages.error(request, domain_error_text(exc))
        else:
            messages.success(request, _("Category %(name)s added.") % {"name": category.name})
        return redirect("console:categories")
    rows = list(selectors.category_list().select_related("parent"))
    return render(request, "console/goods/categories.html", {
        "categories": rows, "parents": [row for row in rows if row.parent_id is None],
        "can_add": request.user.has_perm("catalog.add_category"),
        "can_change": request.user.has_perm("catalog.change_category"),
    })


@staff_page("catalog.view_category")
def category_edit(request, category_id: int):
    category = found_or_404(selectors.category_get, category_id=category_id)
    if request.method == "POST":
        if not request.user.has_perm("catalog.change_category"):
            raise PermissionDenied
        try:
            with transaction.atomic():
                category = services.category_update(category_id=category_id,
                                                    **_category_fields(request))
                _audit(request, "category.update", category_id, {"name": category.name})
        except DomainError as exc:
            messages.error(request, domain_error_text(exc))
        else:
            messages.success(request, _("Category %(name)s saved.") % {"name": category.name})
            return redirect("console:categories")
    return render(request, "console/goods/category_edit.html", {
        "category": category,
        "parents": list(Category.objects.filter(parent=None).exclude(pk=category_id)),
        "can_change": request.user.has_perm("catalog.change_category"),
    })


@require_POST
@staff_page("catalog.delete_category")
def category_delete(request, category_id: int):
    try:
        with transaction.atomic():
            services.category_delete(category_id=category_id)
            _audit(request, "category.delete", category_id)
    except DomainError as exc:
        messages.error(request, domain_error_text(exc))
    else:
        messages.success(request, _("Category deleted."))
    return redirect("console:categories")


# --- banners ------------------------------------------------------------------------------


def _banner_fields(request, *, creating: bool) -> dict:
    post = request.POST
    errors: list[str] = []
    fields = {
        "title": post.get("title", ""),
        "product_id": _int_or_none(post.get("product")),
        "sort_weight": _whole(errors, _("Sort order"), post.get("sort_weight")),
        "is_active": post.get("is_active") == "on",
    }
    if errors:
        raise CatalogInvalid(fields={"sort_weight": errors})
    if creating or request.FILES.get("image"):
        fields["image"] = request.FILES.get("image")
    return fields


@staff_page("catalog.view_banner")
def banners(request):
    if request.method == "POST":
        if not request.user.has_perm("catalog.add_banner"):
            raise PermissionDenied
        try:
            with transaction.atomic():
                banner = services.banner_create(**_banner_fields(request, creating=True))
                _audit(request, "banner.create", banner.pk, {"title": banner.title})
        except DomainError as exc:
            messages.error(request, domain_error_text(exc))
        else:
            messages.success(request, _("Banner %(title)s added.") % {"title": banner.title})
        return redirect("console:banners")
    return render(request, "console/goods/banners.html", {
        "banners": list(selectors.banner_list().select_related("product")),
        "products": list(Product.objects.order_by("-id").only("pk", "title")[:200]),
        "can_add": request.user.has_perm("catalog.add_banner"),
        "can_change": request.user.has_perm("catalog.change_banner"),
    })


@staff_page("catalog.view_banner")
def banner_edit(request, banner_id: int):
    banner = found_or_404(selectors.banner_get, banner_id=banner_id)
    if request.method == "POST":
        if not request.user.has_perm("catalog.change_banner"):
            raise PermissionDenied
        try:
            with transaction.atomic():
                banner = services.banner_update(banner_id=banner_id,
                                                **_banner_fields(request, creating=False))
                _audit(request, "banner.update", banner_id, {"title": banner.title})
        except DomainError as exc:
            messages.error(request, domain_error_text(exc))
        else:
            messages.success(request, _("Banner %(title)s saved.") % {"title": banner.title})
            return redirect("console:banners")
    return render(request, "console/goods/banner_edit.html", {
        "banner": banner,
        "products": list(Product.objects.order_by("-id").only("pk", "title")[:200]),
        "can_change": request.user.has_perm("catalog.change_banner"),
    })


@require_POST
@staff_page("catalog.delete_banner")
def banner_delete(request, banner_id: int):
    try:
        with transaction.atomic():
            services.banner_delete(banner_id=banner_id)
            _audit(request, "banner.delete", banner_id)
    except DomainError as exc:
        messages.error(request, domain_error_text(exc))
    else:
        messages.success(request, _("Banner deleted."))
    return redirect("console:banners")


# --- import and export --------------------------------------------------------------------


@staff_page("catalog.view_product")
def goods_transfer(request):
    if request.method == "POST":
        if not request.user.has_perm("catalog.add_product"):
            raise PermissionDenied
        try:
            with transaction.atomic():
                job = transfer.import_job_start(upload=request.FILES.get("file"),
                                                actor=_actor(request))
                _audit(request, "goods.import_start", job.pk,
                       {"file": job.file_name, "rows": job.rows_total})
        except DomainError as exc:
            messages.error(request, domain_error_text(exc))
            return redirect("console:goods-transfer")
        return redirect(f"{reverse('console:goods-transfer')}?job={job.pk}")
    job_id = _int_or_none(request.GET.get("job"))
    jobs = list(ImportJob.objects.defer("content").order_by("-id")[:10])
    current = next((job for job in jobs if job.pk == job_id), None)
    return render(request, "console/goods/transfer.html", {
        "jobs": jobs, "job": current, "headers": transfer.HEADERS,
        "can_import": request.user.has_perm("catalog.add_product"),
    })


@staff_page("catalog.view_product")
def goods_import_status(request, job_id: int):
    job = found_or_404(transfer.import_job_get, job_id=job_id)
    return render(request, "console/goods/_import_status.html", {"job": job})


@require_POST
@staff_page("catalog.view_product")
def goods_export(request):
    """Start an export job of every product (its task writes the file) and show its page."""
    file_format = request.POST.get("format", "csv")
    if file_format not in transfer.FORMATS:
        messages.error(request, _("Export as csv or xlsx."))
        return redirect("console:goods-transfer")
    with transaction.atomic():
        job = exports.export_request(user=request.user, kind=ExportJob.Kind.GOODS,
                                     file_format=file_format, parameters={})
        _audit(request, "goods.export", file_format, {"job": job.pk})
    return redirect("console:export", job_id=job.pk)
