"""After-sales cases: a shopper asks for a refund of some lines or all, staff approve or
reject, the payments service refunds and reports back. One open case per order.

Every status change goes through orders.transitions.after_sales_transition. Approving
publishes `after_sales.approved`, to which the payments app subscribes (it starts the WeChat
refund after the commit); the payments app's `refund.succeeded` brings the money's return
back here (orders.subscribers). Orders never import payments."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import IntegrityError, transaction

from core.actors import Actor
from storefront.catalog import lock_objects as catalog_locks
from storefront.orders import lock_objects
from storefront.orders.errors import (
    AfterSalesConflict,
    AfterSalesInvalid,
    AfterSalesNotFound,
    OrderNotFound,
)
from storefront.orders.models import (
    AfterSalesLine,
    AfterSalesPhoto,
    AfterSalesRequest,
    AfterSalesStatus,
    Order,
    OrderLine,
    OrderStatus,
)
from storefront.orders.transitions import (
    AFTER_SALES_MACHINE,
    after_sales_transition,
    order_transition,
)

REFUNDABLE_STATUSES = frozenset({OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.RECEIVED})
REASONS = (
    "not_as_described", "damaged", "wrong_item", "quality", "no_longer_needed", "other",
)
MAX_PHOTOS = 6


@dataclass(frozen=True)
class RefundItem:
    order_line_id: int
    quantity: int


def line_refund_fen(line: OrderLine, quantity: int) -> int:
    """Pro rata in whole fen; the last units refunded take the exact remainder, so a line
    refunded in parts never returns more or less than was paid for it."""
    remaining = line.quantity - line.refunded_quantity
    if quantity == remaining:
        return line.paid_fen - line.refunded_fen
    return line.paid_fen * quantity // line.quantity


def after_sales_request(
    *, order: Order, shopper_id: int, items: list[RefundItem], reason: str,
    description: str = "", photos: list | None = None,
) -> AfterSalesRequest:
    photos = photos or []
    errors: dict[str, list[str]] = {}
    if reason not in REASONS:
        errors["reason"] = [f"Choose one of: {', '.join(REASONS)}."]
    if len(description) > 500:
        errors["description"] = ["At most 500 characters."]
    if len(photos) > MAX_PHOTOS:
        errors["photos"] = [f"At most {MAX_PHOTOS} photos."]
    if not items:
        errors["items"] = ["Choose what to return."]
    if errors:
        raise AfterSalesInvalid(fields=errors)
    try:
        with transaction.atomic():
            order = lock_objects.order_for_update(order.pk)
            if order.shopper_id != shopper_id:
                raise OrderNotFound()
            if order.status not in REFUNDABLE_STATUSES:
                raise AfterSalesConflict(
                    f"A {OrderStatus(order.status).label.lower()} order cannot be refunded."
                )
            lines = {line.pk: line for line in order.lines.all()}
            requested: dict[int, int] = {}
            for item in items:
                requested[item.order_line_id] = requested.get(item.order_line_id, 0) + item.quantity
            amounts: dict[int, int] = {}
            for line_id, quantity in requested.items():
                line = lines.get(line_id)
                if line is None:
                    raise AfterSalesInvalid(
                        fields={"items": [f"Line {line_id} is not in this order."]}
                    )
                remaining = line.quantity - line.refunded_quantity
                if not 1 <= quantity <= remaining:
                    raise AfterSalesInvalid(
                        fields={"items": [f"Line {line_id}: between 1 and {remaining}."]}
                    )
                amounts[line_id] = line_refund_fen(line, quantity)
            refund_fen = sum(amounts.values())
            everything_left = all(
                requested.get(line.pk, 0) == line.quantity - line.refunded_quantity
                for line in lines.values()
            )
            if everything_left and order.status == OrderStatus.PAID:
                refund_fen = order.total_fen - order.refunded_fen  # not shipped: shipping too
            case = AfterSalesRequest.objects.create(
                order=order, reason=reason, description=description, refund_fen=refund_fen
            )
            AFTER_SALES_MACHINE.record_creation(
                case, actor=Actor.shopper(shopper_id), reason=reason
            )
            AfterSalesLine.objects.bulk_create(
                AfterSalesLine(
                    request=case, order_line_id=line_id, quantity=requested[line_id],
                    refund_fen=amounts[line_id],
                )
                for line_id in sorted(requested)
            )
            for photo in photos:
                AfterSalesPhoto.objects.create(request=case, image=photo)
    except IntegrityError as exc:
        raise AfterSalesConflict("This order already has an open after-sales case.") from exc
    return case


def _case_for_update(request_id: int) -> AfterSalesRequest:
    case = AfterSalesRequest.objects.select_for_update().filter(pk=request_id).first()
    if case is None:
        raise AfterSalesNotFound()
    return case


def _decide(*, request_id: int, to_status: str, staff_user_id: int, note: str):
    note = (note or "")[:200]
    with transaction.atomic():
        _case_for_update(request_id)
        return after_sales_transition(
            case_id=request_id, to_status=to_status, actor=Actor.staff(staff_user_id),
            reason=note, changes={"staff_note": note, "decided_by_id": staff_user_id},
        )


def after_sales_approve(
    *, request_id: int, staff_user_id: int, note: str = ""
) -> AfterSalesRequest:
    """Approve: publishes `after_sales.approved`; once committed, the payments app refunds
    through WeChat Pay and reports back with `refund.succeeded`."""
    return _decide(
        request_id=request_id, to_status=AfterSalesStatus.APPROVED,
        staff_user_id=staff_user_id, note=note,
    )


def after_sales_reject(*, request_id: int, staff_user_id: int, note: str) -> AfterSalesRequest:
    if not (note or "").strip():
        raise AfterSalesInvalid(fields={"note": ["Tell the shopper why."]})
    return _decide(
        request_id=request_id, to_status=AfterSalesStatus.REJECTED,
        staff_user_id=staff_user_id, note=note,
    )


def after_sales_refund_failed(
    *, request_id: int, reason: str, reference: str = ""
) -> AfterSalesRequest:
    """The payments app could not return the money (WeChat closed or refused the refund,
    or could not pay the shopper's account): the case goes back to staff with the reason,
    to retry or to reject. Idempotent."""
    with transaction.atomic():
        case = _case_for_update(request_id)
        if case.status == AfterSalesStatus.REFUND_FAILED:
            return case
        return after_sales_transition(
            case_id=request_id, to_status=AfterSalesStatus.REFUND_FAILED, actor=Actor.wechat(),
            reason=reason, reference=reference,
        )


def after_sales_retry_refund(
    *, request_id: int, staff_user_id: int, note: str = ""
) -> AfterSalesRequest:
    """Staff ask for the refund again (e.g. after topping up the sub-merchant's balance):
    the case is approved anew, and the payments app makes a new refund attempt."""
    return after_sales_transition(
        case_id=request_id, to_status=AfterSalesStatus.APPROVED,
        actor=Actor.staff(staff_user_id), reason=(note or "refund retried")[:200],
        expected_from=frozenset({AfterSalesStatus.REFUND_FAILED}),
    )


def after_sales_withdraw(*, request_id: int, shopper_id: int) -> AfterSalesRequest:
    with transaction.atomic():
        case = _case_for_update(request_id)
        if case.order.shopper_id != shopper_id:
            raise AfterSalesNotFound()
        if case.status != AfterSalesStatus.REQUESTED:
            raise AfterSalesConflict("Only a case still waiting for a decision can be withdrawn.")
        return after_sales_transition(
            case_id=request_id, to_status=AfterSalesStatus.WITHDRAWN,
            actor=Actor.shopper(shopper_id), reason="withdrawn by the shopper",
        )


def after_sales_mark_refunded(
    *, request_id: int, actor: Actor, reference: str = ""
) -> AfterSalesRequest:
    """The money went back: record it on the lines and the order, give unshipped goods
    back to stock, and close the order when everything was refunded. Idempotent."""
    with transaction.atomic():
        case = _case_for_update(request_id)
        if case.status == AfterSalesStatus.REFUNDED:
            return case
        if case.status not in (AfterSalesStatus.APPROVED, AfterSalesStatus.REFUND_FAILED):
            raise AfterSalesConflict("Only an approved case can be refunded.")
        order = lock_objects.order_for_update(case.order_id)
        restock: dict[int, int] = {}
        for item in case.lines.select_related("order_line"):
            line = item.order_line
            line.refunded_quantity += item.quantity
            line.refunded_fen += item.refund_fen
            line.save(update_fields=["refunded_quantity", "refunded_fen"])
            if order.status == OrderStatus.PAID:
                restock[line.sku_id] = restock.get(line.sku_id, 0) + item.quantity
        order.refunded_fen += case.refund_fen
        order.save(update_fields=["refunded_fen"])
        catalog_locks.stock_release(restock)
        # After the lines and the order, so the event's subscribers see the money back.
        case = after_sales_transition(
            case_id=case.pk, to_status=AfterSalesStatus.REFUNDED, actor=actor,
            reason=f"{case.refund_fen} fen back to the shopper", reference=reference,
        )
        if order.refunded_fen >= order.total_fen:
            order_transition(
                order_id=order.pk, to_status=OrderStatus.REFUNDED, actor=actor,
                reason=f"after-sales case {case.pk}", reference=reference,
            )
    return case
