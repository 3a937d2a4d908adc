"""Accounts, journal entries and their legs, and the nightly check's runs.

Amounts are signed integer fen: a debit is positive, a credit negative, so the legs of every
entry, and of the whole ledger, sum to zero. PostgreSQL enforces it (migration 0001):
entries and legs are append-only, the legs of an entry arrive in one INSERT and balance, and
an entry cannot commit without them.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone


class AccountCode(models.TextChoices):
    WECHAT_CLEARING = "wechat_clearing", "WeChat Pay clearing (the sub-merchant's funds)"
    SALES_REVENUE = "sales_revenue", "Sales revenue"
    REFUNDS = "refunds", "Refunds (contra-revenue)"
    WECHAT_FEES = "wechat_fees", "WeChat Pay fees"
    UNAPPLIED_RECEIPTS = "unapplied_receipts", "Unapplied receipts (owed back to the payer)"
    COMMISSION_EXPENSE = "commission_expense", "Commission expense"
    DISTRIBUTOR_PAYABLE = "distributor_payable", "Commission payable to a distributor"
    PARTNER_PAYABLE = "partner_payable", "Payable to a profit-sharing receiver"
    DISTRIBUTOR_WITHDRAWABLE = "distributor_withdrawable", "A distributor's withdrawable balance"
    TAX_WITHHELD = "tax_withheld", "Tax withheld"
    WITHDRAWAL_FEES = "withdrawal_fees", "Withdrawal fees charged to distributors"


# Accounts kept once per party (a distributor's openid, a receiver's merchant id); every
# other account is one per mall and takes no party.
PER_PARTY_CODES = frozenset({
    AccountCode.DISTRIBUTOR_PAYABLE,
    AccountCode.PARTNER_PAYABLE,
    AccountCode.DISTRIBUTOR_WITHDRAWABLE,
})


def account_problem(code: str, party: str) -> str | None:
    """Why (code, party) cannot name an account, or None. Per-party accounts need a party;
    the mall-wide ones take none (the check constraint below says the same)."""
    if code not in AccountCode.values:
        return f"Unknown ledger account {code!r}."
    if not isinstance(party, str):
        return f"A party is a string, not {party!r}."
    if code in PER_PARTY_CODES and not party:
        return f"Account {code} is kept per party: name the party."
    if code not in PER_PARTY_CODES and party:
        return f"Account {code} is one per mall and takes no party."
    if len(party) > Account._meta.get_field("party").max_length:
        return "The party is too long."
    return None


class Account(models.Model):
    """Created on first use by the posting that needs it (services._accounts_for)."""

    code = models.CharField(max_length=32, choices=AccountCode.choices)
    party = models.CharField(max_length=80, blank=True)

    class Meta:
        ordering = ["code", "party"]
        constraints = [
            models.UniqueConstraint(fields=["code", "party"], name="ledger_account_code_party"),
            models.CheckConstraint(
                condition=Q(code__in=AccountCode.values), name="ledger_account_known_code"
            ),
            models.CheckConstraint(
                condition=(Q(code__in=sorted(PER_PARTY_CODES)) & ~Q(party=""))
                | (~Q(code__in=sorted(PER_PARTY_CODES)) & Q(party="")),
                name="ledger_account_party_rule",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code}[{self.party}]" if self.party else self.code


class JournalEntry(models.Model):
    """One movement of value. (source, source_key) is its idempotency key: the money app's
    own id for the fact (a payment's out_trade_no, a refund's out_refund_no...)."""

    source = models.CharField(max_length=32)
    source_key = models.CharField(max_length=64)
    # The order it concerns; an id, not a foreign key, so the ledger depends on no app.
    order_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    memo = models.CharField(max_length=200, blank=True)
    posted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "journal entries"
        constraints = [
            models.UniqueConstraint(
                fields=["source", "source_key"], name="ledger_entry_source_key"
            ),
            models.CheckConstraint(
                condition=~Q(source="") & ~Q(source_key=""), name="ledger_entry_key_not_empty"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.source}:{self.source_key}"


class JournalLeg(models.Model):
    """A debit (amount_fen > 0) or a credit (< 0) of one account, in fen."""

    entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, related_name="legs")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="legs")
    amount_fen = models.BigIntegerField()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=~Q(amount_fen=0), name="ledger_leg_not_zero"),
        ]

    def __str__(self) -> str:
        return f"{self.account} {self.amount_fen:+d}"


class LedgerCheckRun(models.Model):
    """One run of the nightly check (checks.ledger_check) in this mall."""

    ran_at = models.DateTimeField(default=timezone.now)
    ok = models.BooleanField()
    problems = models.JSONField(default=list)
    figures = models.JSONField(default=dict)  # {"entries": n, "legs": n, "total": fen}

    class Meta:
        ordering = ["-ran_at", "-id"]

    def __str__(self) -> str:
        return f"{self.ran_at:%Y-%m-%d %H:%M} {'ok' if self.ok else 'drift'}"
