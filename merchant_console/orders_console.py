"""What the console's orders and after-sales pages and their staff API share: the filters,
the order's timeline and money, the staff actions with their audit rows, the bulk-ship
file and the export. Pages (orders_views) and the API (api/orders) are thin over this, so
a page and its endpoint do exactly the same thing.

The face reads the orders, payments and distribution apps side by side; the orders app
itself knows nothing of payments or commissions (the layer contract)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import tablib
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext, pgettext_lazy

from core.actors import ActorKind
from core.errors import DomainError, InvalidInput
from merchant_console.audit import audit_record
from storefront.distribution import selectors as distribution_selectors
from storefront.distribution.models import Distributor
from storefront.orders.after_sales import (
    after_sales_approve,
    after_sales_reject,
    after_sales_retry_refund,
)
from storefront.orders.errors import IllegalOrderTransition, OrderNotFound
from storefront.orders.models import AfterSalesRequest, Order, OrderStatus
from storefront.orders.selectors import (
    SHANGHAI,
    OrderFilters,
    after_sales_events_for_order,
    after_sales_get,
    order_get,
    order_search,
    order_status_counts,
)
from storefront.orders.services import order_ship
from storefront.payments import selectors as payment_selectors
from storefront.payments.models import PaymentStatus, RefundStatus
from storefront.shoppers.models import Shopper
from storefront.web.presenters import AFTER_SALES_STATUS_LABELS, ORDER_STATUS_LABELS

# ------------------------------------------------------------------ filters


class FilterInvalid(InvalidInput):
    code = "filter_invalid"
    default_message = "A filter names nobody."


@dataclass(frozen=True)
class OrderQuery:
    """The order list's filters as staff give them: the domain's filters, a status, and
    the distributor who brought the orders in (read through the distribution app)."""

    filters: OrderFilters = OrderFilters()
    status: str = ""
    distributor: Distributor | None = None


def shopper_ref_resolve(ref: str) -> int | None:
    """A shopper named in a filter: a phone number (11 digits or more) or an id."""
    ref = (ref or "").strip()
    if not ref:
        return None
    if ref.isdigit() and len(ref) >= 11:
        shopper_id = Shopper.objects.filter(phone=ref).values_list("pk", flat=True).first()
    elif ref.isdigit() and int(ref) < 2**63:
        shopper_id = Shopper.objects.filter(pk=int(ref)).values_list("pk", flat=True).first()
    else:
        shopper_id = None
    if shopper_id is None:
        raise FilterInvalid(fields={"shopper": [_("No shopper with this id or phone.")]})
    return shopper_id


def distributor_ref_resolve(ref: str) -> Distributor | None:
    if not (ref or "").strip():
        return None
    distributor = distribution_selectors.distributor_find(ref=ref)
    if distributor is None:
        raise FilterInvalid(
            fields={"distributor": [_("No distributor with this invite code or id.")]})
    return distributor


def orders_for_query(query: OrderQuery) -> tuple[QuerySet[Order], dict[str, int]]:
    """(the orders to list, {status: count} under the same filters but any status)."""
    orders = order_search(filters=query.filters)
    if query.distributor is not None:
        orders = distribution_selectors.orders_referred_by(orders=orders,
                                                           distributor=query.distributor)
    counts = order_status_counts(orders=orders)
    if query.status:
        orders = orders.filter(status=query.status)
    return orders, counts


# ------------------------------------------------------------------ actions


def _ship(*, user, number: str, carrier: str, tracking_number: str, source: str) -> Order:
    with transaction.atomic():
        order = Order.objects.filter(number=(number or "").strip()).first()
        if order is None:
            raise OrderNotFound()
        order = order_ship(order=order, staff_user_id=user.pk, carrier=carrier,
                           tracking_number=tracking_number)
        audit_record(actor=user, area="orders", action="order.ship", target=order.number,
                     detail={"carrier": order.carrier, "tracking_number": order.tracking_number,
                             "source": source})
    return order


def console_order_ship(*, user, number: str, carrier: str, tracking_number: str) -> Order:
    """Ship one paid order, with its audit row, in one transaction."""
    return _ship(user=user, number=number, carrier=carrier, tracking_number=tracking_number,
                 source="single")


DECISIONS = ("approve", "reject", "retry")


def console_after_sales_decide(*, user, case_id: int, decision: str,
                               note: str = "") -> AfterSalesRequest:
    """Approve (the payments app then refunds), reject with a note, or retry a refund that
    failed; the move and its audit row commit together."""
    if decision not in DECISIONS:
        raise InvalidInput(fields={"decision": [f"One of: {', '.join(DECISIONS)}."]})
    note = (note or "").strip()
    with transaction.atomic():
        case = after_sales_get(request_id=case_id)
        if decision == "approve":
            after_sales_approve(request_id=case.pk, staff_user_id=user.pk, note=note)
        elif decision == "reject":
            after_sales_reject(request_id=case.pk, staff_user_id=user.pk, note=note)
        else:
            after_sales_retry_refund(request_id=case.pk, staff_user_id=user.pk, note=note)
        audit_record(actor=user, area="after_sales", action=f"after_sales.{decision}",
                     target=str(case.pk),
                     detail={"order": case.order.number, "refund_fen": case.refund_fen,
                             "note": note})
    return after_sales_get(request_id=case.pk)


# ------------------------------------------------------------------ bulk shipping

BULK_MAX_ROWS = 1000
BULK_MAX_BYTES = 2 * 1024 * 1024
_HEADERS = {
    "number": {"order_number", "order number", "number", "order", "订单号", "订单编号"},
    "carrier": {"carrier", "快递公司", "物流公司", "快递", "承运商"},
    "tracking_number": {"tracking_number", "tracking number", "tracking", "运单号",
                        "快递单号", "物流单号"},
}


class BulkFileInvalid(InvalidInput):
    code = "bulk_file_invalid"
    default_message = "The file cannot be read."


@dataclass
class BulkRow:
    row: int  # the spreadsheet's row number (the header is row 1)
    number: str
    carrier: str
    tracking_number: str
    ok: bool = False
    reason: str = ""


@dataclass
class BulkResult:
    rows: list[BulkRow] = field(default_factory=list)

    @property
    def shipped(self) -> int:
        return sum(row.ok for row in self.rows)

    @property
    def failed(self) -> int:
        return len(self.rows) - self.shipped


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a tracking number Excel stored as a number
    return str(value).strip()


def bulk_file_read(*, name: str, content: bytes) -> list[BulkRow]:
    """The rows of an uploaded CSV or XLSX file with the columns order number, carrier and
    tracking number (English or Chinese headers). A file that cannot be read as a whole
    is refused with the reason, and nothing is shipped."""
    if not content:
        raise BulkFileInvalid(_("The file is empty."))
    if len(content) > BULK_MAX_BYTES:
        raise BulkFileInvalid(_("The file is larger than 2 MB."))
    extension = (name or "").rsplit(".", 1)[-1].lower()
    dataset = tablib.Dataset()
    try:
        if extension == "xlsx":
            dataset.load(io.BytesIO(content), format="xlsx")
        elif extension == "csv":
            try:
                text = content.decode("utf-8-sig")
            except UnicodeDecodeError:
                text = content.decode("gb18030")  # Excel's CSV on a Chinese Windows
            rows = list(csv.reader(io.StringIO(text)))
            if rows:
                dataset.headers = rows[0]
                width = len(rows[0])
                for row in rows[1:]:
                    dataset.append((row + [""] * width)[:width])
        else:
            raise BulkFileInvalid(_("Upload a .csv or .xlsx file."))
    except BulkFileInvalid:
        raise
    except Exception as exc:  # noqa: BLE001 - any parser failure is a bad file, said so
        raise BulkFileInvalid(_("The file cannot be read as %(kind)s: %(error)s")
                              % {"kind": extension.upper(), "error": str(exc)[:120]}) from exc
    headers = [_cell(header).lower() for header in (dataset.headers or [])]
    columns = {}
    for key, names in _HEADERS.items():
        for index, header in enumerate(headers):
            if header in names:
                columns[key] = index
                break
    missing = [key for key in _HEADERS if key not in columns]
    if missing:
        raise BulkFileInvalid(
            _("The first row must name the columns order_number, carrier and "
              "tracking_number (or 订单号, 快递公司, 运单号)."),
            fields={"file": [", ".join(missing)]})
    rows = []
    for index, values in enumerate(dataset, start=2):
        values = [_cell(value) for value in values]
        if not any(values):
            continue  # a blank line
        rows.append(BulkRow(row=index, number=values[columns["number"]],
                            carrier=values[columns["carrier"]],
                            tracking_number=values[columns["tracking_number"]]))
    if not rows:
        raise BulkFileInvalid(_("The file has no rows below its header."))
    if len(rows) > BULK_MAX_ROWS:
        raise BulkFileInvalid(_("At most %(n)d rows per file.") % {"n": BULK_MAX_ROWS})
    return rows


def _row_reason(exc: DomainError, order_status: str | None) -> str:
    if isinstance(exc, OrderNotFound):
        return _("No order with this number.")
    if isinstance(exc, IllegalOrderTransition):
        if order_status in (OrderStatus.SHIPPED, OrderStatus.RECEIVED, OrderStatus.COMPLETED):
            return _("Already shipped.")
        label = ORDER_STATUS_LABELS.get(order_status or "", order_status or "")
        return _("Only a paid order can be shipped; this one is %(status)s.") % {
            "status": label}
    if "carrier" in exc.fields:
        return _("Enter the carrier (at most 30 characters).")
    if "tracking_number" in exc.fields:
        return _("Enter the tracking number (at most 40 characters).")
    return exc.message


def console_bulk_ship(*, user, rows: list[BulkRow], file_name: str) -> BulkResult:
    """Ship each good row in its own transaction (with its audit row); a bad row is named
    with its reason and changes nothing. One more audit row records the file's outcome."""
    result = BulkResult()
    seen: set[str] = set()
    for row in rows:
        result.rows.append(row)
        if row.number and row.number in seen:
            row.reason = _("This order appears earlier in the file.")
            continue
        seen.add(row.number)
        if not row.number:
            row.reason = _("The order number is empty.")
            continue
        try:
            _ship(user=user, number=row.number, carrier=row.carrier,
                  tracking_number=row.tracking_number, source=f"file:{file_name}"[:100])
            row.ok = True
        except DomainError as exc:
            status = Order.objects.filter(number=row.number).values_list(
                "status", flat=True).first()
            row.reason = _row_reason(exc, status)
    with transaction.atomic():
        audit_record(actor=user, area="orders", action="order.bulk_ship", target=file_name[:200],
                     detail={"rows": len(result.rows), "shipped": result.shipped,
                             "failed": [[row.row, row.reason] for row in result.rows
                                        if not row.ok][:50]})
    return result


def console_bulk_ship_file(*, user, name: str, content: bytes) -> BulkResult:
    return console_bulk_ship(user=user, rows=bulk_file_read(name=name, content=content),
                             file_name=name)


# ------------------------------------------------------------------ detail: timeline, money


@dataclass(frozen=True)
class TimelineEntry:
    at: dt.datetime
    kind: str  # status, payment, refund, after_sales, shipment
    title: str
    actor: str
    reason: str = ""
    reference: str = ""


@dataclass
class OrderMoney:
    total_fen: int
    paid_fen: int
    refunded_fen: int
    refunding_fen: int
    commissions_fen: int | None  # None: this person may not see commissions
    tiers: list = field(default_factory=list)
    commissions: list = field(default_factory=list)
    attribution: object | None = None

    @property
    def kept_fen(self) -> int | None:
        """What the merchant keeps of the order once refunds and commissions are out."""
        if self.commissions_fen is None:
            return None
        return self.paid_fen - self.refunded_fen - self.commissions_fen


@dataclass
class OrderDetail:
    order: Order
    timeline: list[TimelineEntry]
    money: OrderMoney
    payments: list
    refunds: list
    cases: list


def actor_names(rows: Iterable) -> dict[tuple[str, int], str]:
    """{(kind, id): a name} for every staff member and shopper among `rows`' actors, in
    one query per kind."""
    staff_ids = {row.actor_id for row in rows if row.actor_kind == ActorKind.STAFF}
    shopper_ids = {row.actor_id for row in rows if row.actor_kind == ActorKind.SHOPPER}
    names: dict[tuple[str, int], str] = {}
    if staff_ids:
        for pk, email, username in get_user_model().objects.filter(pk__in=staff_ids).values_list(
                "pk", "email", "username"):
            names[(ActorKind.STAFF, pk)] = email or username
    if shopper_ids:
        for shopper in Shopper.objects.filter(pk__in=shopper_ids).only("nickname", "phone"):
            names[(ActorKind.SHOPPER, shopper.pk)] = shopper.display_name
    return names


def actor_label(row, names) -> str:
    label = str(ActorKind(row.actor_kind).label) if row.actor_kind in ActorKind.values else ""
    name = names.get((row.actor_kind, row.actor_id))
    label = pgettext(ACTOR_CONTEXT, label) if label else label
    return f"{label} {name}" if name else (f"{label} #{row.actor_id}" if row.actor_id else label)


def _label(mapping: dict, value: str) -> str:
    return str(mapping.get(value, value)) if value else "∅"


# The states' labels of other apps, translated here (the models keep English labels).
ACTOR_CONTEXT = "console actor"
STATE_CONTEXT = "console orders"
PAYMENT_LABELS = {value: pgettext_lazy(STATE_CONTEXT, label)
                  for value, label in PaymentStatus.choices}
REFUND_LABELS = {value: pgettext_lazy(STATE_CONTEXT, label)
                 for value, label in RefundStatus.choices}


def order_detail(*, number: str, with_commissions: bool) -> OrderDetail:
    """An order with everything staff ask about it: lines, address, the timeline of status
    changes, payments, refunds, after-sales cases and shipment, and the money."""
    order = order_get(number=number)
    payments = payment_selectors.payments_for_order(order_id=order.pk)
    refunds = payment_selectors.refunds_for_order(order_id=order.pk)
    cases = list(order.after_sales.all())
    case_events = after_sales_events_for_order(order_id=order.pk)
    changes = list(order.status_changes.all())
    payment_events = [event for payment in payments for event in payment.events.all()]
    refund_events = [event for refund in refunds for event in refund.events.all()]
    names = actor_names([*changes, *payment_events, *refund_events, *case_events])

    timeline: list[TimelineEntry] = []
    for change in changes:
        title = _("Order: %(from)s → %(to)s") % {
            "from": _label(ORDER_STATUS_LABELS, change.from_status),
            "to": _label(ORDER_STATUS_LABELS, change.to_status)}
        kind, reference = "status", change.reference
        if change.to_status == OrderStatus.SHIPPED:
            kind = "shipment"
            title = _("Shipped with %(carrier)s, tracking number %(tracking)s") % {
                "carrier": order.carrier, "tracking": order.tracking_number}
        timeline.append(TimelineEntry(change.created_at, kind, title, actor_label(change, names),
                                      change.reason, reference))
    by_payment = {payment.pk: payment for payment in payments}
    for event in payment_events:
        payment = by_payment[event.payment_id]
        timeline.append(TimelineEntry(
            event.created_at, "payment",
            _("Payment %(no)s (¥%(amount)s): %(from)s → %(to)s") % {
                "no": payment.out_trade_no, "amount": yuan(payment.amount_fen),
                "from": _label(PAYMENT_LABELS, event.from_status),
                "to": _label(PAYMENT_LABELS, event.to_status)},
            actor_label(event, names), event.reason, event.reference))
    by_refund = {refund.pk: refund for refund in refunds}
    for event in refund_events:
        refund = by_refund[event.refund_id]
        timeline.append(TimelineEntry(
            event.created_at, "refund",
            _("Refund %(no)s (¥%(amount)s): %(from)s → %(to)s") % {
                "no": refund.out_refund_no, "amount": yuan(refund.amount_fen),
                "from": _label(REFUND_LABELS, event.from_status),
                "to": _label(REFUND_LABELS, event.to_status)},
            actor_label(event, names), event.reason, event.reference))
    for event in case_events:
        timeline.append(TimelineEntry(
            event.created_at, "after_sales",
            _("After-sales case #%(id)s: %(from)s → %(to)s") % {
                "id": event.case_id,
                "from": _label(AFTER_SALES_STATUS_LABELS, event.from_status),
                "to": _label(AFTER_SALES_STATUS_LABELS, event.to_status)},
            actor_label(event, names), event.reason, event.reference))
    timeline.sort(key=lambda entry: entry.at)

    paid_fen = sum(p.amount_fen for p in payments if p.status == PaymentStatus.SUCCEEDED)
    if not paid_fen and order.paid_at:
        paid_fen = order.total_fen  # marked paid without a WeChat payment (e.g. seeded)
    money = OrderMoney(
        total_fen=order.total_fen, paid_fen=paid_fen, refunded_fen=order.refunded_fen,
        refunding_fen=sum(r.amount_fen for r in refunds
                          if r.status in (RefundStatus.PROCESSING, RefundStatus.ABNORMAL)),
        commissions_fen=None,
    )
    if with_commissions:
        money.commissions = distribution_selectors.order_commissions(order_id=order.pk)
        money.tiers = distribution_selectors.commission_tiers(money.commissions)
        money.commissions_fen = sum(tier.net_fen for tier in money.tiers)
        money.attribution = distribution_selectors.order_attribution(order_id=order.pk)
    return OrderDetail(order=order, timeline=timeline, money=money, payments=payments,
                       refunds=refunds, cases=cases)


def may_see_commissions(user) -> bool:
    """Commissions are distribution money: finance, operations and above see them,
    customer service does not (roles.ROLE_PERMISSIONS)."""
    return user.has_perm("distribution.view_commission")


def yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    fen = abs(int(fen))
    return f"{sign}{fen // 100}.{fen % 100:02d}"


# ------------------------------------------------------------------ export

EXPORT_MAX_ROWS = 100_000
EXPORT_HEADERS = [
    "order_number", "status", "placed_at", "paid_at", "shipped_at", "shopper_id", "shopper",
    "shopper_phone", "recipient", "recipient_phone", "address", "items", "goods_yuan",
    "discount_yuan", "shipping_yuan", "total_yuan", "refunded_yuan", "carrier",
    "tracking_number", "referrer_id", "note",
]


def _local(moment: dt.datetime | None) -> str:
    return timezone.localtime(moment, SHANGHAI).strftime("%Y-%m-%d %H:%M:%S") if moment else ""


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _text(value: str) -> str:
    """Shopper-typed text as a spreadsheet shows it: a leading "=", "+", "-" or "@" would
    make Excel run it as a formula (CSV injection), so it is quoted."""
    value = value or ""
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def export_rows(orders: QuerySet[Order],
                on_row: Callable[[], None] | None = None) -> Iterator[list]:
    """One row per order (Shanghai times, yuan with two decimals), in chunks so a large
    export never holds every order in memory. `on_row` is called after each row (an
    export job counts its progress with it)."""
    chunk = 500
    ids = list(orders.values_list("pk", flat=True)[:EXPORT_MAX_ROWS])
    for start in range(0, len(ids), chunk):
        page = {order.pk: order for order in (
            Order.objects.filter(pk__in=ids[start:start + chunk])
            .select_related("shopper").prefetch_related("lines"))}
        for pk in ids[start:start + chunk]:
            order = page[pk]
            address = order.address or {}
            yield [
                order.number, order.status, _local(order.created_at), _local(order.paid_at),
                _local(order.shipped_at), order.shopper_id, _text(order.shopper.nickname),
                order.shopper.phone or "", _text(str(address.get("recipient", ""))),
                _text(str(address.get("phone", ""))),
                _text("".join(str(address.get(key, "")) for key in
                              ("province", "city", "district", "detail"))),
                _text("; ".join(f"{line.title} {line.spec_label} x{line.quantity}".replace(
                    "  ", " ") for line in order.lines.all())),
                yuan(order.goods_fen), yuan(order.discount_fen), yuan(order.shipping_fen),
                yuan(order.total_fen), yuan(order.refunded_fen), _text(order.carrier),
                _text(order.tracking_number), order.referrer_id or "", _text(order.note),
            ]
            if on_row is not None:
                on_row()


class _Echo:
    def write(self, value):
        return value


def export_csv(orders: QuerySet[Order],
               on_row: Callable[[], None] | None = None) -> Iterator[str]:
    """CSV lines, UTF-8 with a byte-order mark so Excel opens Chinese text right."""
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow(EXPORT_HEADERS)
    for row in export_rows(orders, on_row):
        yield writer.writerow(row)


def export_xlsx(orders: QuerySet[Order], on_row: Callable[[], None] | None = None) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("orders")
    sheet.append(EXPORT_HEADERS)
    for row in export_rows(orders, on_row):
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def export_start(*, user, query: OrderQuery, kind: str):
    """Record an export job of the query's orders (its task writes the file) and the audit
    row, in one transaction."""
    from merchant_console import exports  # exports writes with this module's rows

    orders, _counts = orders_for_query(query)
    with transaction.atomic():
        job = exports.export_request(user=user, kind="orders", file_format=kind,
                                     parameters=exports.order_parameters(query))
        export_record(user=user, query=query, kind=kind,
                      count=min(orders.count(), EXPORT_MAX_ROWS), job_id=job.pk)
    return job


def export_record(*, user, query: OrderQuery, kind: str, count: int,
                  job_id: int | None = None) -> None:
    """Shoppers' names, phones and addresses leave the system: who took them is kept."""
    with transaction.atomic():
        audit_record(actor=user, area="orders", action="order.export", target=kind,
                     detail={"job": job_id, "rows": count, "status": query.status,
                             "q": query.filters.q,
                             "date_from": query.filters.date_from,
                             "date_to": query.filters.date_to,
                             "shopper_id": query.filters.shopper_id,
                             "distributor_id": getattr(query.distributor, "pk", None)})
