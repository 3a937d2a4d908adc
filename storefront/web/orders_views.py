"""The shopper's cart, checkout, order and after-sales pages.

Thin views: validate the form, call orders.cart / orders.services / orders.after_sales,
render. Domain errors become a message (redirects) or a page with the message and the
error's status (re-rendered forms); nothing here computes a price.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from functools import wraps

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.actors import Actor
from storefront.catalog.errors import ImageInvalid
from storefront.catalog.images import image_check
from storefront.orders.after_sales import (
    MAX_PHOTOS,
    RefundItem,
    after_sales_request,
    after_sales_withdraw,
)
from storefront.orders.cart import (
    MAX_QUANTITY_PER_LINE,
    cart_add,
    cart_find,
    cart_get_or_create,
    cart_remove,
    cart_set_quantity,
)
from storefront.orders.errors import (
    AfterSalesConflict,
    AfterSalesInvalid,
    AfterSalesNotFound,
    CartInvalid,
    CheckoutInvalid,
    IllegalOrderTransition,
    OrderNotFound,
    OutOfStock,
    PriceChanged,
    SkuUnavailable,
)
from storefront.orders.models import Order
from storefront.orders.selectors import (
    after_sales_get_for_shopper,
    after_sales_list_for_order,
    order_get_for_shopper,
)
from storefront.orders.services import (
    CheckoutItem,
    checkout_quote,
    order_confirm_receipt,
    order_place,
)
from storefront.payments.errors import OrderPaidMeanwhile
from storefront.payments.services import order_cancel_unpaid
from storefront.shoppers.selectors import address_get_default, address_list
from storefront.web.funnel import funnel_mark
from storefront.web.payments_views import payment_state_context
from storefront.web.presenters import (
    ORDER_TABS,
    REASON_CHOICES,
    REASON_LABELS,
    cart_lines,
    cart_view,
    countdown_text,
    order_actions,
    order_list_for_shopper_tab,
    pay_seconds_left,
    sku_image_url,
    stock_short_sku_ids,
)
from storefront.web.shopper_session import REFERRER_SESSION_KEY

LOGIN_URL = "/login/"
ORDERS_PER_PAGE = 10


# ---------------------------------------------------------------- helpers


def shopper_required(view):
    """Send a visitor who is not signed in to the shopper's sign-in page, then back."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        if request.shopper is None:
            back = request.get_full_path() if request.method == "GET" else request.path
            return redirect(f"{LOGIN_URL}?{urlencode({'next': back})}")
        return view(request, *args, **kwargs)

    return wrapper


def _safe_next(request: HttpRequest, default: str) -> str:
    candidate = request.POST.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return default


def _session_key(request: HttpRequest, *, create: bool) -> str | None:
    """The visitor's session key; with `create`, make sure one exists and reaches the
    browser (an anonymous cart is keyed by it)."""
    if create and not request.session.session_key:
        request.session.save()
        request.session.modified = True  # so the middleware sends the cookie
    return request.session.session_key


def _order_or_404(request: HttpRequest, number: str) -> Order:
    try:
        return order_get_for_shopper(shopper=request.shopper, number=number)
    except OrderNotFound:
        raise Http404(_("Order not found.")) from None


def _first_error(form: forms.Form) -> str:
    for errors in form.errors.values():
        return str(errors[0])
    return _("Some fields are not valid.")


# ---------------------------------------------------------------- cart


class CartAddForm(forms.Form):
    sku_id = forms.IntegerField(min_value=1, max_value=2**63 - 1)
    quantity = forms.IntegerField(min_value=1, max_value=MAX_QUANTITY_PER_LINE, required=False)


class CartUpdateForm(forms.Form):
    sku_id = forms.IntegerField(min_value=1, max_value=2**63 - 1)
    quantity = forms.IntegerField(min_value=0, max_value=MAX_QUANTITY_PER_LINE)


@require_GET
def cart_page(request: HttpRequest) -> HttpResponse:
    shopper = request.shopper
    cart = cart_find(shopper=shopper, session_key=_session_key(request, create=False))
    default_address = address_get_default(shopper=shopper) if shopper else None
    view = cart_view(
        cart=cart, province=default_address.province if default_address else None
    )
    return render(
        request, "storefront/orders/cart.html",
        {"tab": "cart", "cart": view, "default_address": default_address},
    )


@require_POST
def cart_add_view(request: HttpRequest) -> HttpResponse:
    back = _safe_next(request, reverse("storefront:cart"))
    form = CartAddForm(request.POST)
    if not form.is_valid():
        messages.error(request, _first_error(form))
        return redirect(back)
    try:
        cart = cart_get_or_create(
            shopper=request.shopper, session_key=_session_key(request, create=True)
        )
        cart_add(
            cart=cart, sku_id=form.cleaned_data["sku_id"],
            quantity=form.cleaned_data["quantity"] or 1,
        )
    except (CartInvalid, SkuUnavailable) as exc:
        messages.error(request, exc.message)
    else:
        funnel_mark(request, "cart_adds")
        messages.success(request, _("Added to your cart."))
    return redirect(back)


@require_POST
def cart_update_view(request: HttpRequest) -> HttpResponse:
    form = CartUpdateForm(request.POST)
    cart = cart_find(shopper=request.shopper, session_key=_session_key(request, create=False))
    if not form.is_valid():
        messages.error(request, _first_error(form))
    elif cart is None:
        messages.error(request, _("Your cart is empty."))
    else:
        try:
            cart_set_quantity(
                cart=cart, sku_id=form.cleaned_data["sku_id"],
                quantity=form.cleaned_data["quantity"],
            )
        except (CartInvalid, SkuUnavailable) as exc:
            messages.error(request, exc.message)
    return redirect("storefront:cart")


@require_POST
def cart_remove_view(request: HttpRequest) -> HttpResponse:
    try:
        sku_ids = [int(value) for value in request.POST.getlist("sku_id")]
    except ValueError:
        sku_ids = []
    cart = cart_find(shopper=request.shopper, session_key=_session_key(request, create=False))
    if cart is not None and sku_ids:
        cart_remove(cart=cart, sku_ids=sku_ids)
        messages.success(request, _("Removed from your cart."))
    return redirect("storefront:cart")


# ---------------------------------------------------------------- checkout


@dataclass(frozen=True)
class Selection:
    """What is being bought: the cart's lines (all, or those ticked) or one SKU now."""

    mode: str  # "cart" or "buy_now"
    items: list[CheckoutItem]

    def page_url(self, *, address_id: int | None = None) -> str:
        query = QueryDict(mutable=True)
        if self.mode == "buy_now":
            query["sku"] = str(self.items[0].sku_id)
            query["quantity"] = str(self.items[0].quantity)
        else:
            query.setlist("line", [str(item.sku_id) for item in self.items])
        if address_id is not None:
            query["address"] = str(address_id)
        return f"{reverse('storefront:checkout')}?{query.urlencode()}"


class SelectionInvalid(Exception):
    pass


def _int_list(values: list[str]) -> list[int]:
    try:
        numbers = [int(value) for value in values]
    except ValueError:
        raise SelectionInvalid(_("This selection is not valid.")) from None
    if any(not 0 < number < 2**63 for number in numbers):
        raise SelectionInvalid(_("This selection is not valid."))
    return numbers


def _selection_from_query(request: HttpRequest) -> Selection:
    if "sku" in request.GET:
        sku_ids = _int_list([request.GET["sku"]])
        quantities = _int_list([request.GET.get("quantity") or "1"])
        return Selection(
            mode="buy_now", items=[CheckoutItem(sku_id=sku_ids[0], quantity=quantities[0])]
        )
    chosen = set(_int_list(request.GET.getlist("line")))
    if request.GET.get("from") == "cart" and not chosen:
        raise SelectionInvalid(_("Choose at least one item to check out."))
    cart = cart_find(shopper=request.shopper, session_key=None)
    items = [
        CheckoutItem(sku_id=line.sku_id, quantity=line.quantity)
        for line in cart_lines(cart)
        if (not chosen or line.sku_id in chosen)
        and line.sku.is_active and line.sku.product.is_on_shelf
    ]
    if not items:
        raise SelectionInvalid(_("Your cart has nothing to check out."))
    return Selection(mode="cart", items=items)


def _selection_from_post(request: HttpRequest) -> Selection:
    sku_ids = _int_list(request.POST.getlist("sku_id"))
    quantities = _int_list(request.POST.getlist("quantity"))
    if not sku_ids or len(sku_ids) != len(quantities):
        raise SelectionInvalid(_("This selection is not valid."))
    mode = "buy_now" if request.POST.get("mode") == "buy_now" else "cart"
    items = [
        CheckoutItem(sku_id=sku_id, quantity=quantity)
        for sku_id, quantity in zip(sku_ids, quantities, strict=True)
    ]
    return Selection(mode=mode, items=items)


class PlaceOrderForm(forms.Form):
    address_id = forms.IntegerField(min_value=1, max_value=2**63 - 1)
    note = forms.CharField(max_length=200, required=False)
    client_token = forms.UUIDField()
    expected_total_fen = forms.IntegerField(min_value=0, required=False)


def _render_checkout(
    request: HttpRequest, *, selection: Selection, address_id: int | None, client_token: str,
    note: str = "", error: str = "", status: int = 200,
) -> HttpResponse:
    addresses = list(address_list(shopper=request.shopper))
    chosen = next((a for a in addresses if a.pk == address_id), None)
    if chosen is None and addresses:
        chosen = next((a for a in addresses if a.is_default), addresses[0])
    quote, quote_error = None, ""
    try:
        quote = checkout_quote(
            items=selection.items, province=chosen.province if chosen else None
        )
    except (CheckoutInvalid, SkuUnavailable) as exc:
        quote_error = exc.message
        status = status if status != 200 else exc.status
    lines = []
    if quote is not None:
        short = stock_short_sku_ids(quote)
        lines = [
            {
                "quote": line,
                "image_url": sku_image_url(line.sku),
                "stock_short": line.sku.pk in short,
            }
            for line in quote.lines
        ]
    here = selection.page_url(address_id=chosen.pk if chosen else None)
    context = {
        "tab": "cart",
        "selection": selection,
        "quote": quote,
        "lines": lines,
        "stock_short": any(row["stock_short"] for row in lines),
        "quote_error": quote_error,
        "error": error,
        "addresses": [
            {"address": a, "url": selection.page_url(address_id=a.pk),
             "selected": chosen is not None and a.pk == chosen.pk}
            for a in addresses
        ],
        "address": chosen,
        "new_address_url": f"/me/addresses/new/?{urlencode({'next': here})}",
        "client_token": client_token,
        "note": note,
    }
    return render(request, "storefront/orders/checkout.html", context, status=status)


@require_http_methods(["GET", "POST"])
@shopper_required
def checkout_page(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        return _checkout_place(request)
    try:
        selection = _selection_from_query(request)
    except SelectionInvalid as exc:
        messages.error(request, str(exc))
        return redirect("storefront:cart")
    try:
        address_id = int(request.GET.get("address") or 0) or None
    except ValueError:
        address_id = None
    return _render_checkout(
        request, selection=selection, address_id=address_id, client_token=uuid.uuid4().hex
    )


def _checkout_place(request: HttpRequest) -> HttpResponse:
    try:
        selection = _selection_from_post(request)
    except SelectionInvalid as exc:
        messages.error(request, str(exc))
        return redirect("storefront:cart")
    form = PlaceOrderForm(request.POST)
    if not form.is_valid():
        token = request.POST.get("client_token", "")
        try:
            token = uuid.UUID(token).hex
        except ValueError:
            token = uuid.uuid4().hex
        message = (
            _("Choose a delivery address.") if "address_id" in form.errors
            else _first_error(form)
        )
        return _render_checkout(
            request, selection=selection, address_id=None, client_token=token,
            note=request.POST.get("note", "")[:200], error=message, status=400,
        )
    data = form.cleaned_data
    token = data["client_token"].hex
    try:
        order = order_place(
            shopper=request.shopper,
            items=selection.items,
            address_id=data["address_id"],
            note=data["note"],
            client_token=token,
            referrer_code=request.session.get(REFERRER_SESSION_KEY),
            expected_total_fen=data["expected_total_fen"],
            clear_cart=selection.mode == "cart",
        )
    except PriceChanged as exc:
        message = _(
            "Prices changed since you opened this page. Check the new total below and place "
            "the order again."
        )
        status = exc.status
    except (OutOfStock, SkuUnavailable, CheckoutInvalid) as exc:
        message, status = exc.message, exc.status
    else:
        messages.success(request, _("Order placed. Please pay before the deadline."))
        return redirect("storefront:order-detail", number=order.number)
    return _render_checkout(
        request, selection=selection, address_id=data["address_id"], client_token=token,
        note=data["note"], error=message, status=status,
    )


# ---------------------------------------------------------------- orders


@require_GET
@shopper_required
def order_list_page(request: HttpRequest) -> HttpResponse:
    tab = request.GET.get("status") or "all"
    if tab not in ORDER_TABS:
        tab = "all"
    orders = order_list_for_shopper_tab(shopper=request.shopper, tab=tab)
    page = Paginator(orders, ORDERS_PER_PAGE).get_page(request.GET.get("page"))
    tabs = [
        {"key": key, "label": label, "active": key == tab,
         "url": reverse("storefront:orders") + ("" if key == "all" else f"?status={key}")}
        for key, (label, _statuses) in ORDER_TABS.items()
    ]
    return render(
        request, "storefront/orders/order_list.html",
        {"tab": "me", "tabs": tabs, "status_tab": tab, "page": page},
    )


@require_GET
@shopper_required
def order_detail_page(request: HttpRequest, number: str) -> HttpResponse:
    order = _order_or_404(request, number)
    cases = after_sales_list_for_order(order=order)
    seconds_left = pay_seconds_left(order)
    # Back from WeChat's H5 cashier: a box that waits for the callback (it polls); the
    # return itself changes nothing.
    confirming = (
        payment_state_context(order=order, started=time.time())
        if request.GET.get("from") == "cashier" else None
    )
    return render(
        request, "storefront/orders/order_detail.html",
        {
            "confirming": confirming,
            "tab": "me",
            "order": order,
            "lines": list(order.lines.all()),
            "timeline": list(order.status_changes.all()),
            "cases": [
                {"case": case, "reason_label": REASON_LABELS.get(case.reason, case.reason)}
                for case in cases
            ],
            "actions": order_actions(order, cases),
            "pay_seconds_left": seconds_left,
            "pay_time_left": countdown_text(seconds_left),
        },
    )


@require_POST
@shopper_required
def order_cancel_view(request: HttpRequest, number: str) -> HttpResponse:
    order = _order_or_404(request, number)
    try:
        order_cancel_unpaid(
            order=order, actor=Actor.shopper(request.shopper.pk),
            reason="cancelled by the shopper",
        )
    except (IllegalOrderTransition, OrderPaidMeanwhile) as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Order cancelled."))
    return redirect("storefront:order-detail", number=order.number)


@require_POST
@shopper_required
def order_confirm_receipt_view(request: HttpRequest, number: str) -> HttpResponse:
    order = _order_or_404(request, number)
    try:
        order_confirm_receipt(order=order, shopper=request.shopper)
    except IllegalOrderTransition as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Thank you! Receipt confirmed."))
    return redirect("storefront:order-detail", number=order.number)


# ---------------------------------------------------------------- after-sales


class AfterSalesForm(forms.Form):
    reason = forms.ChoiceField(label=gettext_lazy("Reason"), choices=REASON_CHOICES)
    description = forms.CharField(
        label=gettext_lazy("Description"), max_length=500, required=False,
        widget=forms.Textarea,
    )


def _refund_items(request: HttpRequest, order: Order) -> tuple[list[RefundItem], dict]:
    """Quantities per line from fields `qty_<line id>`; 0 or blank means not returned."""
    items, chosen, errors = [], {}, []
    for line in order.lines.all():
        raw = (request.POST.get(f"qty_{line.pk}") or "0").strip()
        try:
            quantity = int(raw)
        except ValueError:
            errors.append(_("Enter whole numbers for the quantities."))
            continue
        chosen[line.pk] = quantity
        if quantity < 0:
            errors.append(_("Enter whole numbers for the quantities."))
        elif quantity:
            items.append(RefundItem(order_line_id=line.pk, quantity=quantity))
    if not errors and not items:
        errors.append(_("Choose what to return."))
    return items, {"chosen": chosen, "errors": errors}


def _checked_photos(request: HttpRequest) -> list:
    uploads = request.FILES.getlist("photos")
    if len(uploads) > MAX_PHOTOS:
        message = _("At most %(count)d photos.") % {"count": MAX_PHOTOS}
        raise ImageInvalid(message, fields={"photos": [message]})
    return [image_check(upload=upload, field="photos").as_file() for upload in uploads]


@require_http_methods(["GET", "POST"])
@shopper_required
def after_sales_page(request: HttpRequest, number: str) -> HttpResponse:
    order = _order_or_404(request, number)
    actions = order_actions(order, after_sales_list_for_order(order=order))
    lines = [line for line in order.lines.all() if line.quantity > line.refunded_quantity]
    form = AfterSalesForm(request.POST or None)
    chosen: dict[int, int] = {}
    errors: list[str] = []
    status = 200
    if request.method == "POST":
        items, parsed = _refund_items(request, order)
        chosen, errors = parsed["chosen"], parsed["errors"]
        if form.is_valid() and not errors:
            try:
                photos = _checked_photos(request)
                after_sales_request(
                    order=order, shopper_id=request.shopper.pk, items=items,
                    reason=form.cleaned_data["reason"],
                    description=form.cleaned_data["description"], photos=photos,
                )
            except (ImageInvalid, AfterSalesInvalid, AfterSalesConflict) as exc:
                errors = [msg for msgs in exc.fields.values() for msg in msgs] or [exc.message]
                status = exc.status
            else:
                messages.success(
                    request, _("Your request was sent. The mall will answer it soon.")
                )
                return redirect("storefront:order-detail", number=order.number)
        else:
            status = 400
    elif not actions.can_request_after_sales:
        messages.error(request, _("This order cannot take an after-sales request now."))
        return redirect("storefront:order-detail", number=order.number)
    return render(
        request, "storefront/orders/after_sales.html",
        {
            "tab": "me",
            "order": order,
            "lines": [
                {"line": line, "remaining": line.quantity - line.refunded_quantity,
                 "chosen": chosen.get(line.pk, 0)}
                for line in lines
            ],
            "form": form,
            "errors": errors,
            "max_photos": MAX_PHOTOS,
        },
        status=status,
    )


@require_POST
@shopper_required
def after_sales_withdraw_view(request: HttpRequest, number: str, request_id: int) -> HttpResponse:
    order = _order_or_404(request, number)
    try:
        case = after_sales_get_for_shopper(shopper=request.shopper, request_id=request_id)
    except AfterSalesNotFound:
        raise Http404(_("After-sales case not found.")) from None
    if case.order_id != order.pk:
        raise Http404(_("After-sales case not found."))
    try:
        after_sales_withdraw(request_id=case.pk, shopper_id=request.shopper.pk)
    except AfterSalesConflict as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Your after-sales request was withdrawn."))
    return redirect("storefront:order-detail", number=order.number)
