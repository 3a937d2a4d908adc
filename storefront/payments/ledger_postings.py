"""How the payments app's money moves post to the mall's ledger (DESIGN §5).

Each final money state posts exactly one journal entry, inside the transaction that
records it (in-transaction subscribers of the state machines' events), keyed by the row's
own idempotency key so a replayed callback posts nothing more:

- `payment.succeeded` → source `payment`, key out_trade_no: Dr wechat_clearing, Cr
  sales_revenue — or Cr unapplied_receipts when the order was no longer waiting for the
  money (paid after it was cancelled: owed back to the shopper);
- `refund.succeeded` → `refund`, out_refund_no: Dr refunds, Cr wechat_clearing (Dr
  unapplied_receipts for a payment returned because its order had been cancelled);
- `profit_share.finished` → `profit_share`, out_order_no: Dr the payable of each receiver
  WeChat paid, Cr wechat_clearing;
- `share_return.success` → `share_return`, out_return_no: Dr wechat_clearing, Cr the
  partner's payable;
- `transfer.success` → `transfer`, out_bill_no: Dr the distributor's payable, Cr
  wechat_clearing;
- the T+1 bill → `wechat_fees`, the bill date: Dr wechat_fees, Cr wechat_clearing.

Payables are debited when money leaves for a distributor or a partner; the distribution
engine credits them when it accrues commission (Dr commission_expense). An unfreeze moves
no money between these accounts (it releases the sub-merchant's own frozen funds) and a
share whose receivers all failed moved none: neither posts.

The same functions build the legs for posting and for `ledger_check`'s expectations, so
the check compares the ledger with what the rows say, not with a copy of this table.
"""

from __future__ import annotations

from collections.abc import Iterable

from core import events
from storefront.ledger import checks
from storefront.ledger.models import AccountCode as A
from storefront.ledger.selectors import order_totals
from storefront.ledger.services import Leg, entry_post
from storefront.orders.models import Order, OrderStatus
from storefront.payments.models import (
    MismatchKind,
    Payment,
    PaymentStatus,
    ProfitShare,
    ProfitShareKind,
    ProfitShareReturn,
    ProfitShareStatus,
    ReceiverType,
    ReconciledBill,
    ReconciliationMismatch,
    Refund,
    RefundStatus,
    ShareLineResult,
    ShareReturnStatus,
    Transfer,
    TransferStatus,
)


def _between(debit: str, credit: str, amount_fen: int, *, debit_party: str = "",
             credit_party: str = "") -> list[Leg]:
    return [Leg(debit, amount_fen, debit_party), Leg(credit, -amount_fen, credit_party)]


def receiver_party(receiver_type: str, account: str) -> tuple[str, str]:
    """The payable account and party of a profit-sharing receiver or transfer payee."""
    if receiver_type == ReceiverType.MERCHANT_ID:
        return A.PARTNER_PAYABLE, f"mchid:{account}"
    return A.DISTRIBUTOR_PAYABLE, f"openid:{account}"


def payment_legs(payment: Payment, *, applied_to_order: bool) -> list[Leg]:
    credit = A.SALES_REVENUE if applied_to_order else A.UNAPPLIED_RECEIPTS
    return _between(A.WECHAT_CLEARING, credit, payment.amount_fen)


def refund_legs(refund: Refund) -> list[Leg]:
    """A case's refund reverses a sale; a refund without a case returns a payment no order
    took (booked to unapplied receipts when it came in)."""
    debit = A.REFUNDS if refund.after_sales_id else A.UNAPPLIED_RECEIPTS
    return _between(debit, A.WECHAT_CLEARING, refund.amount_fen)


def profit_share_legs(share: ProfitShare) -> list[Leg]:
    """One debit per receiver WeChat paid (SUCCESS), the total credited to clearing."""
    if share.kind != ProfitShareKind.SHARE:
        return []
    legs, total = [], 0
    for line in share.lines.filter(result=ShareLineResult.SUCCESS).order_by("pk"):
        code, party = receiver_party(line.receiver_type, line.account)
        legs.append(Leg(code, line.amount_fen, party))
        total += line.amount_fen
    return [*legs, Leg(A.WECHAT_CLEARING, -total)] if total else []


def share_return_legs(share_return: ProfitShareReturn) -> list[Leg]:
    return _between(A.WECHAT_CLEARING, A.PARTNER_PAYABLE, share_return.amount_fen,
                    credit_party=f"mchid:{share_return.return_mchid}")


def transfer_legs(transfer: Transfer) -> list[Leg]:
    return _between(A.DISTRIBUTOR_PAYABLE, A.WECHAT_CLEARING, transfer.amount_fen,
                    debit_party=f"openid:{transfer.openid}")


def fee_legs(fee_fen: int) -> list[Leg]:
    """A day's net fee: positive is charged, negative is returned with refunds."""
    if fee_fen == 0:
        return []
    return _between(A.WECHAT_FEES, A.WECHAT_CLEARING, fee_fen)


def _order_id_of_share(share: ProfitShare) -> int:
    return Payment.objects.values_list("order_id", flat=True).get(pk=share.payment_id)


# Posting, inside the transaction of the state change ------------------------------------


@events.subscriber("payment.succeeded")
def post_payment(event: events.DomainEvent) -> None:
    """Runs before the order is marked paid (payment_apply_transaction moves the payment
    first): an order still waiting for its money takes it as revenue."""
    payment = event.subject
    waiting = Order.objects.filter(
        pk=payment.order_id, status=OrderStatus.PENDING_PAYMENT
    ).exists()
    entry_post(
        source="payment", source_key=payment.out_trade_no, order_id=payment.order_id,
        legs=payment_legs(payment, applied_to_order=waiting),
        memo=f"WeChat Pay {payment.transaction_id or ''}".strip(),
    )


@events.subscriber("refund.succeeded")
def post_refund(event: events.DomainEvent) -> None:
    refund = event.subject
    entry_post(
        source="refund", source_key=refund.out_refund_no, legs=refund_legs(refund),
        order_id=Payment.objects.values_list("order_id", flat=True).get(pk=refund.payment_id),
        memo=f"refund {refund.refund_id}".strip(),
    )


@events.subscriber("profit_share.finished")
def post_profit_share(event: events.DomainEvent) -> None:
    share = event.subject
    legs = profit_share_legs(share)
    if legs:
        entry_post(source="profit_share", source_key=share.out_order_no, legs=legs,
                   order_id=_order_id_of_share(share), memo=f"profit share {share.order_id}")


@events.subscriber("share_return.success")
def post_share_return(event: events.DomainEvent) -> None:
    share_return = event.subject
    entry_post(
        source="share_return", source_key=share_return.out_return_no,
        legs=share_return_legs(share_return),
        order_id=_order_id_of_share(share_return.share), memo="profit share returned",
    )


@events.subscriber("transfer.success")
def post_transfer(event: events.DomainEvent) -> None:
    transfer = event.subject
    entry_post(source="transfer", source_key=transfer.out_bill_no,
               legs=transfer_legs(transfer), memo=f"transfer {transfer.transfer_bill_no}")


def post_fees(bill: ReconciledBill) -> None:
    """Called by the T+1 reconciliation, in its transaction."""
    legs = fee_legs(bill.fee_fen)
    if legs:
        entry_post(source="wechat_fees", source_key=bill.bill_date.isoformat(), legs=legs,
                   memo=f"WeChat Pay fees of {bill.bill_date.isoformat()}")


# What ledger_check expects, from the rows -------------------------------------------------


def expected_payments() -> Iterable[checks.ExpectedEntry]:
    owed_back = set(
        ReconciliationMismatch.objects.filter(kind=MismatchKind.PAID_AFTER_CANCEL)
        .values_list("out_trade_no", flat=True)
    )
    for payment in Payment.objects.filter(status=PaymentStatus.SUCCEEDED).iterator():
        yield checks.ExpectedEntry(
            source_key=payment.out_trade_no, order_id=payment.order_id,
            legs=payment_legs(payment, applied_to_order=payment.out_trade_no not in owed_back),
        )


def expected_refunds() -> Iterable[checks.ExpectedEntry]:
    for refund in Refund.objects.filter(status=RefundStatus.SUCCEEDED).select_related(
        "payment"
    ).iterator():
        yield checks.ExpectedEntry(source_key=refund.out_refund_no, legs=refund_legs(refund),
                                   order_id=refund.payment.order_id)


def expected_profit_shares() -> Iterable[checks.ExpectedEntry]:
    finished = ProfitShare.objects.filter(
        status=ProfitShareStatus.FINISHED, kind=ProfitShareKind.SHARE
    ).select_related("payment")
    for share in finished.iterator():
        legs = profit_share_legs(share)
        if legs:
            yield checks.ExpectedEntry(source_key=share.out_order_no, legs=legs,
                                       order_id=share.payment.order_id)


def expected_share_returns() -> Iterable[checks.ExpectedEntry]:
    returned = ProfitShareReturn.objects.filter(status=ShareReturnStatus.SUCCESS)
    for share_return in returned.select_related("share__payment").iterator():
        yield checks.ExpectedEntry(source_key=share_return.out_return_no,
                                   legs=share_return_legs(share_return),
                                   order_id=share_return.share.payment.order_id)


def expected_transfers() -> Iterable[checks.ExpectedEntry]:
    for transfer in Transfer.objects.filter(status=TransferStatus.SUCCESS).iterator():
        yield checks.ExpectedEntry(source_key=transfer.out_bill_no,
                                   legs=transfer_legs(transfer))


def expected_fees() -> Iterable[checks.ExpectedEntry]:
    for bill in ReconciledBill.objects.exclude(fee_fen=0).iterator():
        yield checks.ExpectedEntry(source_key=bill.bill_date.isoformat(),
                                   legs=fee_legs(bill.fee_fen))


def orders_refunded_as_in_ledger() -> list[str]:
    """Every order's refunded_fen equals the refunds the ledger posted for it."""
    ledger = order_totals(code=A.REFUNDS)
    recorded = dict(
        Order.objects.filter(refunded_fen__gt=0).values_list("pk", "refunded_fen")
    )
    return [
        f"order #{order_id}: refunded_fen {recorded.get(order_id, 0)}, "
        f"ledger refunds {ledger.get(order_id, 0)}"
        for order_id in sorted(set(ledger) | set(recorded))
        if recorded.get(order_id, 0) != ledger.get(order_id, 0)
    ]


def register() -> None:
    """From PaymentsConfig.ready(): the sources this app posts, and its invariants."""
    checks.register_expectations("payment", expected_payments)
    checks.register_expectations("refund", expected_refunds)
    checks.register_expectations("profit_share", expected_profit_shares)
    checks.register_expectations("share_return", expected_share_returns)
    checks.register_expectations("transfer", expected_transfers)
    checks.register_expectations("wechat_fees", expected_fees)
    checks.register_check("orders' refunded amounts match the ledger",
                          orders_refunded_as_in_ledger)

