"""The in-memory store: every record the simulator keeps, behind one lock.

Services take `state.lock` around each read-modify-write; nothing slow (network, sleeps)
happens while it is held."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime

from .accounts import Directory


@dataclass
class Transaction:
    prepay_id: str
    trade_type: str
    sp_appid: str
    sp_mchid: str
    sub_mchid: str
    sub_appid: str | None
    out_trade_no: str
    description: str
    notify_url: str
    total: int
    currency: str
    payer: dict
    attach: str | None
    time_expire: datetime | None
    profit_sharing: bool
    scene_info: dict | None
    fingerprint: str
    created_at: datetime
    trade_state: str = "NOTPAY"
    transaction_id: str | None = None
    success_time: datetime | None = None
    profit_sharing_unfrozen: bool = False

    def expired(self, moment: datetime) -> bool:
        return self.time_expire is not None and moment >= self.time_expire


@dataclass
class Refund:
    sub_mchid: str
    out_refund_no: str
    refund_id: str
    transaction: Transaction
    reason: str | None
    notify_url: str | None
    refund: int
    fingerprint: str
    created_at: datetime
    status: str = "PROCESSING"
    success_time: datetime | None = None


@dataclass
class Receiver:
    type: str
    account: str
    relation_type: str
    custom_relation: str | None
    name: str | None


@dataclass
class SharingLine:
    """One receiver line of a profit-sharing order."""

    type: str
    account: str
    amount: int
    description: str
    detail_id: str
    result: str = "PENDING"
    finish_time: datetime | None = None


@dataclass
class SharingOrder:
    sub_mchid: str
    out_order_no: str
    order_id: str
    transaction: Transaction
    lines: list[SharingLine]
    unfreeze_unsplit: bool
    is_unfreeze: bool
    fingerprint: str
    created_at: datetime
    state: str = "PROCESSING"


@dataclass
class SharingReturn:
    sub_mchid: str
    out_return_no: str
    return_id: str
    order: SharingOrder
    return_mchid: str
    amount: int
    description: str
    fingerprint: str
    created_at: datetime
    result: str = "PROCESSING"
    finish_time: datetime | None = None


@dataclass
class TransferBill:
    sub_mchid: str
    appid: str
    out_bill_no: str
    transfer_bill_no: str
    transfer_scene_id: str
    openid: str
    user_name: str | None
    transfer_amount: int
    transfer_remark: str
    notify_url: str | None
    user_recv_perception: str | None
    package_info: str
    fingerprint: str
    created_at: datetime
    updated_at: datetime
    state: str = "WAIT_USER_CONFIRM"
    fail_reason: str | None = None


@dataclass
class OAuthGrant:
    """What an OAuth code, access token or refresh token stands for."""

    appid: str
    user_key: str
    scope: str
    expires_at: datetime
    used: bool = False


@dataclass
class BillTamper:
    id: int
    bill_date: str
    out_trade_no: str
    out_refund_no: str | None
    action: str
    changes: dict


@dataclass
class SimulatorState:
    directory: Directory
    lock: threading.RLock = field(default_factory=threading.RLock)
    transactions: dict[tuple[str, str], Transaction] = field(default_factory=dict)
    transactions_by_prepay: dict[str, Transaction] = field(default_factory=dict)
    transactions_by_id: dict[str, Transaction] = field(default_factory=dict)
    refunds: dict[tuple[str, str], Refund] = field(default_factory=dict)
    receivers: dict[str, dict[tuple[str, str], Receiver]] = field(default_factory=dict)
    sharing_orders: dict[tuple[str, str], SharingOrder] = field(default_factory=dict)
    sharing_returns: dict[tuple[str, str], SharingReturn] = field(default_factory=dict)
    transfers: dict[str, TransferBill] = field(default_factory=dict)
    transfers_by_no: dict[str, TransferBill] = field(default_factory=dict)
    oauth_codes: dict[str, OAuthGrant] = field(default_factory=dict)
    sns_access_tokens: dict[str, OAuthGrant] = field(default_factory=dict)
    sns_refresh_tokens: dict[str, OAuthGrant] = field(default_factory=dict)
    app_access_tokens: dict[str, tuple[str, datetime]] = field(default_factory=dict)
    js_codes: dict[str, OAuthGrant] = field(default_factory=dict)
    messages: list[dict] = field(default_factory=list)
    bill_downloads: dict[str, tuple[bytes, str, datetime]] = field(default_factory=dict)
    bill_tampers: list[BillTamper] = field(default_factory=list)
    callback_log: list[dict] = field(default_factory=list)

    def refunded(self, transaction: Transaction) -> int:
        return sum(
            refund.refund for refund in self.refunds.values() if refund.transaction is transaction
        )

    def shared(self, transaction: Transaction, *, include_unfreeze: bool) -> int:
        return sum(
            line.amount
            for order in self.sharing_orders.values()
            if order.transaction is transaction and (include_unfreeze or not order.is_unfreeze)
            for line in order.lines
        )
