"""The billing e-mails to a mall's owner: a trial about to end, a payment that failed."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.mail import send_mail
from django.utils import timezone

from billing.models import Invoice
from tenants.models import Merchant

KINDS = ("trial_ending", "trial_will_end", "payment_failed")


def billing_url(merchant: Merchant) -> str:
    return f"{merchant.home_url}console/settings/billing/"


def _yuan(fen: int) -> str:
    return f"¥{fen / 100:,.2f}"


def send_billing_email(*, kind: str, merchant_id: int, invoice_id: int | None = None,
                       when: int | None = None) -> str:
    """Compose and send one billing e-mail; answers the recipient."""
    if kind not in KINDS:
        raise ValueError(f"unknown billing e-mail {kind!r}")
    merchant = Merchant.objects.get(pk=merchant_id)
    link = billing_url(merchant)
    if kind == "payment_failed":
        invoice = Invoice.objects.get(pk=invoice_id)
        grace_end = timezone.localtime(
            merchant.status_changed_at + dt.timedelta(days=settings.BILLING_GRACE_DAYS)
        )
        subject = f"Payment failed for {merchant.name} / {merchant.name} 订阅扣款失败"
        body = (
            f"We could not charge {_yuan(invoice.amount_due_fen)} for your mall {merchant.name} "
            f"(invoice {invoice.number or invoice.stripe_invoice_id}).\n\n"
            f"Update your card before {grace_end:%Y-%m-%d}, or the mall will be paused for "
            f"shoppers (nothing is deleted): {link}\n\n"
            f"我们未能扣取商城「{merchant.name}」的订阅费用 {_yuan(invoice.amount_due_fen)}。"
            f"请在 {grace_end:%Y-%m-%d} 前更新银行卡，否则商城将暂停营业（数据不会删除）：{link}\n"
        )
    else:
        ends = (dt.datetime.fromtimestamp(when, tz=dt.UTC) if when else merchant.trial_ends_at)
        ends_text = f"{timezone.localtime(ends):%Y-%m-%d}" if ends else "soon"
        subject = f"Your trial of {merchant.name} ends {ends_text} / 试用即将结束"
        body = (
            f"The free trial of your mall {merchant.name} ends on {ends_text}. Choose a plan "
            f"to keep selling without a pause: {link}\n\n"
            f"您的商城「{merchant.name}」免费试用将于 {ends_text} 结束。请选择套餐，"
            f"以免商城暂停营业：{link}\n"
        )
    send_mail(subject=subject, message=body, from_email=settings.DEFAULT_FROM_EMAIL,
              recipient_list=[merchant.owner_email])
    return merchant.owner_email
