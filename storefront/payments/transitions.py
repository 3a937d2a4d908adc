"""The money state machines of the payments app: payment, refund, profit share, share
return (claw-back) and transfer. Each is a map of allowed moves and one transition service
(core.state_machine): the row locked, the move checked (409 and nothing changed when
illegal), saved with update_fields, an append-only history row with the typed actor, why
and WeChat's reference, and `<machine>.<status>` published in the same transaction — the
ledger postings and the after-sales flow are its subscribers.

No status of these rows is assigned anywhere else: callers move a row with
`<MACHINE>.transition(pk=..., to_status=..., actor=..., reason=..., reference=...)`.
"""

from __future__ import annotations

from core.state_machine import StateMachine
from storefront.payments.errors import (
    IllegalPaymentTransition,
    IllegalProfitShareTransition,
    IllegalRefundTransition,
    IllegalShareReturnTransition,
    IllegalTransferTransition,
)
from storefront.payments.models import (
    Payment,
    PaymentEvent,
    PaymentStatus,
    ProfitShare,
    ProfitShareEvent,
    ProfitShareReturn,
    ProfitShareReturnEvent,
    ProfitShareStatus,
    Refund,
    RefundEvent,
    RefundStatus,
    ShareReturnStatus,
    Transfer,
    TransferEvent,
    TransferStatus,
)

P = PaymentStatus
PAYMENT_MOVES = {
    P.PENDING: frozenset({P.SUCCEEDED, P.CLOSED, P.FAILED}),
    # The money is real whenever WeChat says SUCCESS, even after we saw it closed.
    P.CLOSED: frozenset({P.SUCCEEDED}),
    P.FAILED: frozenset({P.SUCCEEDED}),
    P.SUCCEEDED: frozenset(),
}
PAYMENT_MACHINE = StateMachine(
    name="payment", model=Payment, history=PaymentEvent, subject_field="payment",
    moves=PAYMENT_MOVES, error=IllegalPaymentTransition, timestamps={P.SUCCEEDED: "paid_at"},
    event_data=lambda p: {"order_id": p.order_id, "out_trade_no": p.out_trade_no,
                          "amount_fen": p.amount_fen},
)

R = RefundStatus
REFUND_MOVES = {
    # REFUSED: WeChat refused the request itself (nothing refunded; the key is spent).
    R.PROCESSING: frozenset({R.SUCCEEDED, R.CLOSED, R.ABNORMAL, R.REFUSED}),
    # An abnormal refund (e.g. the shopper's card closed) can still be completed by WeChat.
    R.ABNORMAL: frozenset({R.SUCCEEDED, R.CLOSED}),
    R.SUCCEEDED: frozenset(),
    R.CLOSED: frozenset(),
    R.REFUSED: frozenset(),
}
REFUND_MACHINE = StateMachine(
    name="refund", model=Refund, history=RefundEvent, subject_field="refund",
    moves=REFUND_MOVES, error=IllegalRefundTransition, timestamps={R.SUCCEEDED: "succeeded_at"},
    event_data=lambda r: {"after_sales_id": r.after_sales_id, "payment_id": r.payment_id,
                          "out_refund_no": r.out_refund_no, "refund_id": r.refund_id,
                          "amount_fen": r.amount_fen},
)

PS = ProfitShareStatus
PROFIT_SHARE_MOVES = {
    # REFUSED: WeChat refused the request itself; only a share it never acknowledged.
    PS.CREATED: frozenset({PS.PROCESSING, PS.FINISHED, PS.REFUSED}),
    PS.PROCESSING: frozenset({PS.FINISHED}),
    PS.FINISHED: frozenset(),
    PS.REFUSED: frozenset(),
}
PROFIT_SHARE_MACHINE = StateMachine(
    name="profit_share", model=ProfitShare, history=ProfitShareEvent, subject_field="share",
    moves=PROFIT_SHARE_MOVES, error=IllegalProfitShareTransition, noun="profit share",
    timestamps={PS.FINISHED: "finished_at", PS.REFUSED: "finished_at"},
    event_data=lambda s: {"out_order_no": s.out_order_no, "kind": s.kind,
                          "payment_id": s.payment_id},
)

SR = ShareReturnStatus
SHARE_RETURN_MOVES = {
    SR.CREATED: frozenset({SR.PROCESSING, SR.SUCCESS, SR.FAILED, SR.REFUSED}),
    SR.PROCESSING: frozenset({SR.SUCCESS, SR.FAILED}),
    SR.SUCCESS: frozenset(),
    SR.FAILED: frozenset(),
    SR.REFUSED: frozenset(),
}
SHARE_RETURN_MACHINE = StateMachine(
    name="share_return", model=ProfitShareReturn, history=ProfitShareReturnEvent,
    subject_field="share_return", moves=SHARE_RETURN_MOVES, error=IllegalShareReturnTransition,
    noun="profit-share return",
    timestamps={SR.SUCCESS: "finished_at", SR.FAILED: "finished_at", SR.REFUSED: "finished_at"},
    event_data=lambda r: {"out_return_no": r.out_return_no, "share_id": r.share_id,
                          "return_mchid": r.return_mchid, "amount_fen": r.amount_fen},
)

T = TransferStatus
TRANSFER_FINAL = frozenset({T.SUCCESS, T.FAIL, T.CANCELLED, T.REFUSED})
# WeChat's bill states in the order they happen; a later one may be reported without the
# ones between (callbacks are late, queries see only the latest).
TRANSFER_RANK = {
    T.CREATED: 0, T.ACCEPTED: 1, T.PROCESSING: 2, T.WAIT_USER_CONFIRM: 3, T.TRANSFERING: 4,
    T.CANCELING: 5, **dict.fromkeys(TRANSFER_FINAL, 9),
}
TRANSFER_MOVES = {
    state: frozenset(
        later for later, later_rank in TRANSFER_RANK.items()
        if later_rank > rank and (later != T.REFUSED or state == T.CREATED)
    )
    for state, rank in TRANSFER_RANK.items()
}
TRANSFER_MACHINE = StateMachine(
    name="transfer", model=Transfer, history=TransferEvent, subject_field="transfer",
    moves=TRANSFER_MOVES, error=IllegalTransferTransition,
    timestamps=dict.fromkeys(TRANSFER_FINAL, "finished_at"),
    event_data=lambda t: {"out_bill_no": t.out_bill_no, "openid": t.openid,
                          "amount_fen": t.amount_fen},
)

