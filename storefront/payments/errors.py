"""Stable error codes of payments, refunds and payouts."""

from core.errors import Conflict, DomainError, InvalidInput, NotFound


class PaymentsUnavailable(DomainError):
    code = "payments_unavailable"
    status = 503
    default_message = "This mall has not connected WeChat Pay yet."


class PaymentNotAllowed(Conflict):
    code = "payment_not_allowed"


class OrderPaidMeanwhile(Conflict):
    code = "order_paid_meanwhile"
    default_message = "This order was just paid, so it cannot be cancelled any more."


class PaymentMismatch(DomainError):
    """What WeChat reported does not match our payment or refund: never applied."""

    code = "payment_mismatch"
    status = 400


class PayoutInvalid(InvalidInput):
    code = "payout_invalid"


class RealNameRequired(PayoutInvalid):
    code = "real_name_required"
    default_message = "From ¥2,000 a transfer needs the payee's real name."


class PayoutNotAllowed(Conflict):
    """Refused before anything was sent to WeChat."""

    code = "payout_not_allowed"


class ProfitShareOverCap(PayoutNotAllowed):
    code = "profit_share_over_cap"
    default_message = "The shares exceed the sub-merchant's profit-sharing ratio."


class PayoutKeyReused(Conflict):
    code = "payout_key_reused"
    default_message = "This idempotency key was already used for a different payout."


class PayoutMismatch(DomainError):
    """What WeChat reported does not match our row: never applied."""

    code = "payout_mismatch"
    status = 400


# Illegal moves of the state machines (storefront.payments.transitions): 409, nothing changed.


class IllegalPaymentTransition(Conflict):
    code = "illegal_payment_transition"


class IllegalRefundTransition(Conflict):
    code = "illegal_refund_transition"


class IllegalProfitShareTransition(Conflict):
    code = "illegal_profit_share_transition"


class IllegalShareReturnTransition(Conflict):
    code = "illegal_share_return_transition"


class IllegalTransferTransition(Conflict):
    code = "illegal_transfer_transition"


class MismatchNotFound(NotFound):
    code = "mismatch_not_found"
    default_message = "No such reconciliation difference."


class MismatchAlreadyResolved(Conflict):
    code = "mismatch_already_resolved"
    default_message = "This difference was already marked resolved."
