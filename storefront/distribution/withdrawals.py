"""Withdrawals of a distributor's balance to their WeChat balance (DESIGN §6).

A request locks the distributor's row, reads the withdrawable balance from the ledger and
reserves the amount in the same transaction (ledger `withdrawal`/<out_bill_no>: Dr the
withdrawable balance, Cr what is owed to the WeChat user, Cr the fee), so however many
requests race on one balance, each one sees the reservations of those before it. Risky
requests wait for staff review; the rest go to WeChat at once through the mall's transfers
(the shopper confirms in WeChat; from ¥2,000 WeChat wants their real name). A rejected,
declined or failed withdrawal gives the whole amount back (`withdrawal_return`).
"""

from __future__ import annotations

import datetime as dt
import secrets

from django.db import transaction
from django.db.models import Count, Sum
from django.utils import timezone

from core import events, outbox
from core.actors import Actor
from core.errors import DomainError
from storefront.distribution.commissions import SHANGHAI, party
from storefront.distribution.errors import (
    DistributionNotFound,
    WithdrawalInvalid,
    WithdrawalNotAllowed,
)
from storefront.distribution.models import (
    Commission,
    CommissionReversal,
    DistributionSettings,
    Distributor,
    DistributorStatus,
    Withdrawal,
    WithdrawalStatus,
)
from storefront.distribution.transitions import WITHDRAWAL_MACHINE
from storefront.ledger.models import AccountCode as A
from storefront.ledger.selectors import account_balance
from storefront.ledger.services import Leg, entry_post
from storefront.payments import transfers
from tenants.secrets import secret_decrypt, secret_encrypt

W = WithdrawalStatus
REMARK = "佣金提现"
SPIKE_FACTOR = 5
SPIKE_FLOOR_FEN = 50_000
HIGH_REFUND_SHARE = 0.3
OPEN_STATUSES = (W.REVIEWING, W.TRANSFERRING, W.SUCCEEDED)


def withdrawable_fen(distributor_id: int) -> int:
    """The balance a distributor may withdraw (the ledger's withdrawable account is a
    credit: the mall owes it)."""
    return -account_balance(code=A.DISTRIBUTOR_WITHDRAWABLE, party=party(distributor_id))


def fee_for(amount_fen: int, rules: DistributionSettings) -> int:
    if not rules.withdrawal_fee_bp and not rules.withdrawal_fee_min_fen:
        return 0
    return min(amount_fen, max(amount_fen * rules.withdrawal_fee_bp // 10000,
                               rules.withdrawal_fee_min_fen))


def reserve_legs(withdrawal: Withdrawal) -> list[Leg]:
    legs = [Leg(A.DISTRIBUTOR_WITHDRAWABLE, withdrawal.amount_fen,
                party(withdrawal.distributor_id)),
            Leg(A.DISTRIBUTOR_PAYABLE, -withdrawal.net_fen, f"openid:{withdrawal.openid}")]
    if withdrawal.fee_fen:
        legs.append(Leg(A.WITHDRAWAL_FEES, -withdrawal.fee_fen))
    return legs


def return_legs(withdrawal: Withdrawal) -> list[Leg]:
    return [Leg(leg.account, -leg.amount_fen, leg.party) for leg in reserve_legs(withdrawal)]


def _amount(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise WithdrawalInvalid("Give the amount as a whole number of fen.",
                                fields={"amount_fen": ["A whole number of fen (分)."]})
    if value <= 0:
        raise WithdrawalInvalid("The amount must be more than zero.",
                                fields={"amount_fen": ["More than zero."]})
    return value


def _today_start() -> dt.datetime:
    local = timezone.now().astimezone(SHANGHAI)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def risk_reasons(distributor: Distributor, amount_fen: int,
                 rules: DistributionSettings) -> list[str]:
    """Why this request needs a person to look at it first (empty: it does not)."""
    reasons = []
    if amount_fen >= rules.withdrawal_review_from_fen:
        reasons.append(f"amount ≥ {rules.withdrawal_review_from_fen} fen")
    activated = distributor.activated_at or distributor.created_at
    new_days = rules.withdrawal_review_new_days
    if timezone.now() - activated < dt.timedelta(days=new_days):
        reasons.append(f"distributor active for less than {new_days} days")
    past = Withdrawal.objects.filter(distributor=distributor, status=W.SUCCEEDED).aggregate(
        n=Count("id"), total=Sum("amount_fen"))
    if past["n"]:
        average = past["total"] // past["n"]
        if amount_fen >= SPIKE_FLOOR_FEN and amount_fen > SPIKE_FACTOR * average:
            reasons.append(f"{amount_fen} fen is over {SPIKE_FACTOR}× the usual {average} fen")
    since = timezone.now() - dt.timedelta(days=90)
    earned = Commission.objects.filter(distributor=distributor, created_at__gte=since) \
        .aggregate(total=Sum("amount_fen"))["total"] or 0
    reversed_ = CommissionReversal.objects.filter(distributor=distributor,
                                                  created_at__gte=since) \
        .aggregate(total=Sum("amount_fen"))["total"] or 0
    if earned and reversed_ / earned > HIGH_REFUND_SHARE:
        reasons.append(f"{reversed_ * 100 // earned}% of 90 days' commission was refunded")
    return reasons


def withdrawal_request(*, distributor_id: int, amount_fen, real_name: str = "") -> Withdrawal:
    """A distributor asks for `amount_fen` of their balance. Refused with a clear message
    when it is not a positive whole amount, under the minimum, over the balance or a
    daily limit; reserved at once otherwise (see the module's docstring)."""
    amount = _amount(amount_fen)
    rules = DistributionSettings.current()
    real_name = (real_name or "").strip()
    with transaction.atomic():
        distributor = (Distributor.objects.select_for_update().select_related("shopper")
                       .filter(pk=distributor_id).first())
        if distributor is None:
            raise DistributionNotFound()
        if distributor.status != DistributorStatus.ACTIVE:
            raise WithdrawalNotAllowed("A frozen or closed distributor account cannot withdraw.")
        openid = distributor.shopper.wechat_openid
        if not openid:
            raise WithdrawalNotAllowed(
                "Sign in with WeChat once: withdrawals go to the WeChat balance of that "
                "account.")
        if amount < rules.withdrawal_min_fen:
            raise WithdrawalInvalid(
                f"The least you can withdraw is {rules.withdrawal_min_fen} fen.",
                fields={"amount_fen": [f"At least {rules.withdrawal_min_fen} fen."]})
        balance = withdrawable_fen(distributor.pk)
        if amount > balance:
            raise WithdrawalInvalid(
                f"You can withdraw at most {max(balance, 0)} fen.",
                fields={"amount_fen": [f"Over your balance of {max(balance, 0)} fen."]})
        today = Withdrawal.objects.filter(distributor=distributor, status__in=OPEN_STATUSES,
                                          created_at__gte=_today_start()).aggregate(
            n=Count("id"), total=Sum("amount_fen"))
        if today["n"] >= rules.withdrawal_daily_count:
            raise WithdrawalNotAllowed(
                f"At most {rules.withdrawal_daily_count} withdrawals a day: try tomorrow.")
        if (today["total"] or 0) + amount > rules.withdrawal_daily_fen:
            raise WithdrawalNotAllowed(
                f"At most {rules.withdrawal_daily_fen} fen a day can be withdrawn.",
                fields={"amount_fen": [f"Today's limit is {rules.withdrawal_daily_fen} fen."]})
        fee = fee_for(amount, rules)
        net = amount - fee
        if net < transfers.MIN_TRANSFER_FEN:
            raise WithdrawalInvalid(
                f"After the fee of {fee} fen, less than WeChat's minimum of "
                f"{transfers.MIN_TRANSFER_FEN} fen would arrive.",
                fields={"amount_fen": ["Too small after the fee."]})
        if net >= transfers.REAL_NAME_FROM_FEN and not real_name:
            raise WithdrawalInvalid(
                "From ¥2,000 WeChat needs your real name to pay you.",
                fields={"real_name": ["Your real name, as on your ID."]})
        if len(real_name) > 32:
            raise WithdrawalInvalid(fields={"real_name": ["At most 32 characters."]})
        reasons = risk_reasons(distributor, amount, rules)
        withdrawal = Withdrawal.objects.create(
            distributor=distributor, amount_fen=amount, fee_fen=fee, net_fen=net,
            status=W.REVIEWING, out_bill_no=f"WD{secrets.token_hex(12).upper()}",
            openid=openid, real_name_given=bool(real_name),
            real_name_encrypted=secret_encrypt(real_name) if real_name else "",
            risk_reasons=reasons,
        )
        WITHDRAWAL_MACHINE.record_creation(
            withdrawal, actor=Actor.shopper(distributor.shopper_id),
            reason="; ".join(reasons) or "withdrawal requested",
        )
        entry_post(source="withdrawal", source_key=withdrawal.out_bill_no,
                   legs=reserve_legs(withdrawal), memo=f"withdrawal of {amount} fen")
        if not reasons:
            withdrawal = _start_transfer(withdrawal, actor=Actor.system(),
                                         reason="no review needed")
    return withdrawal


def _start_transfer(withdrawal: Withdrawal, *, actor: Actor, reason: str) -> Withdrawal:
    withdrawal = WITHDRAWAL_MACHINE.transition(pk=withdrawal.pk, to_status=W.TRANSFERRING,
                                               actor=actor, reason=reason)
    outbox.enqueue("storefront.distribution.tasks.send_withdrawal",
                   kwargs={"withdrawal_id": withdrawal.pk})
    return withdrawal


def withdrawal_approve(*, withdrawal_id: int, staff_id: int) -> Withdrawal:
    with transaction.atomic():
        withdrawal = _locked(withdrawal_id)
        return _start_transfer(withdrawal, actor=Actor.staff(staff_id), reason="approved")


def withdrawal_reject(*, withdrawal_id: int, staff_id: int, reason: str) -> Withdrawal:
    reason = (reason or "").strip()
    if not reason:
        raise WithdrawalInvalid(fields={"reason": ["Say why, for the distributor."]})
    with transaction.atomic():
        withdrawal = _locked(withdrawal_id)
        withdrawal = WITHDRAWAL_MACHINE.transition(
            pk=withdrawal.pk, to_status=W.REJECTED, actor=Actor.staff(staff_id),
            reason=reason, changes={"reason": reason[:200]},
        )
        _give_back(withdrawal)
    return withdrawal


def _locked(withdrawal_id: int) -> Withdrawal:
    withdrawal = Withdrawal.objects.select_for_update().filter(pk=withdrawal_id).first()
    if withdrawal is None:
        raise DistributionNotFound("No such withdrawal.")
    return withdrawal


def _give_back(withdrawal: Withdrawal) -> None:
    entry_post(source="withdrawal_return", source_key=withdrawal.out_bill_no,
               legs=return_legs(withdrawal), memo=f"withdrawal {withdrawal.status}")


def withdrawal_send(withdrawal_id: int) -> Withdrawal:
    """Ask WeChat to transfer a withdrawal (the outbox task; safe to run twice: the
    transfer is idempotent by out_bill_no). A refusal before anything was sent fails the
    withdrawal and gives the money back; a network error is left to the retry."""
    withdrawal = Withdrawal.objects.get(pk=withdrawal_id)
    if withdrawal.status != W.TRANSFERRING:
        return withdrawal
    name = secret_decrypt(withdrawal.real_name_encrypted) if withdrawal.real_name_given else None
    try:
        transfers.transfer_create(out_bill_no=withdrawal.out_bill_no, openid=withdrawal.openid,
                                  amount_fen=withdrawal.net_fen, remark=REMARK, user_name=name)
    except DomainError as error:
        if error.status >= 500:
            raise  # the mall's WeChat Pay is not connected: retried later
        with transaction.atomic():
            _locked(withdrawal.pk)
            withdrawal = withdrawal_finish(withdrawal.out_bill_no, succeeded=False,
                                           reason=str(error)[:200])
    return withdrawal


def withdrawal_finish(out_bill_no: str, *, succeeded: bool, reason: str) -> Withdrawal | None:
    """The transfer ended: paid, or failed/declined/refused (the money goes back)."""
    withdrawal = Withdrawal.objects.filter(out_bill_no=out_bill_no).first()
    if withdrawal is None or withdrawal.status != W.TRANSFERRING:
        return withdrawal
    if succeeded:
        return WITHDRAWAL_MACHINE.transition(pk=withdrawal.pk, to_status=W.SUCCEEDED,
                                             actor=Actor.wechat(), reference=out_bill_no)
    withdrawal = WITHDRAWAL_MACHINE.transition(
        pk=withdrawal.pk, to_status=W.FAILED, actor=Actor.wechat(), reason=reason,
        reference=out_bill_no, changes={"reason": reason[:200]},
    )
    _give_back(withdrawal)
    return withdrawal


def _transfer_ended(event: events.DomainEvent) -> None:
    transfer = event.subject
    # The transfer machine's statuses are WeChat's (upper case, "SUCCESS"); the event
    # names are lower case. Compared as the event name is, or a paid transfer would fail
    # its withdrawal and give the money back a second time.
    state = event.data["to_status"].lower()
    succeeded = state == "success"
    reason = {"fail": f"WeChat could not pay: {transfer.fail_reason or 'failed'}",
              "cancelled": "The transfer was not confirmed in WeChat in time",
              "refused": f"WeChat refused the transfer: {transfer.last_error}"}.get(state, "")
    withdrawal_finish(transfer.out_bill_no, succeeded=succeeded, reason=reason)


for _state in ("success", "fail", "cancelled", "refused"):
    events.subscriber(f"transfer.{_state}")(_transfer_ended)
