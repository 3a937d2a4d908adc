"""Settlement (DESIGN §5, §6): commissions move through their states as orders are received
and after-sales windows close, and a monthly statement per distributor moves what became
available into the withdrawable balance.

Set-based SQL, not a loop: a month of a million commissions settles in seconds. Each
batch of distributors is one transaction that links their commissions and reversals to a
new statement (unique per distributor, month and sequence), moves the commissions to
settled with their history rows, writes the statements' history rows and posts their
ledger entries (`statement`/<id>: Dr payable gross, Cr withdrawable net, Cr tax withheld).
A run killed half-way rolls back only its current batch; a re-run finds the statements
already made (and the ledger entries already posted) and settles nobody twice.

Statements above the mall's review amount, of a frozen distributor, or with heavy
refunds wait for finance (`in_review`): their ledger entry is posted on approval.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from core.actors import Actor
from storefront.distribution import profit_share_route
from storefront.distribution.commissions import SHANGHAI, party
from storefront.distribution.errors import DistributionInvalid, DistributionNotFound
from storefront.distribution.models import (
    CommissionReversal,
    CommissionStatus,
    DistributionSettings,
    Distributor,
    SettlementMode,
    Statement,
    StatementStatus,
)
from storefront.distribution.transitions import (
    COMMISSION_MACHINE,
    STATEMENT_MACHINE,
    bulk_move_commissions,
)
from storefront.ledger.models import AccountCode as A
from storefront.ledger.services import Leg, entry_post
from storefront.orders.models import OPEN_AFTER_SALES

BATCH_DISTRIBUTORS = 25_000
HEAVY_REFUND_SHARE_PCT = 30

# 劳务报酬 prepayment (个人所得税预扣预缴) on the month's income (`month_gross`: this
# statement and the month's earlier ones): up to ¥4,000 less ¥800, above it less 20%;
# then 20%, 30% less ¥2,000 over ¥20,000, 40% less ¥7,000 over ¥50,000 (in fen). A
# statement withholds that less what the month's earlier statements withheld.
TAX_SQL = """
    CASE WHEN NOT %(withhold)s OR month_gross <= 0 THEN 0 ELSE (
        WITH t(taxable) AS (SELECT CASE WHEN month_gross <= 400000
                                        THEN GREATEST(month_gross - 80000, 0)
                                        ELSE month_gross * 4 / 5 END)
        SELECT CASE WHEN taxable <= 2000000 THEN taxable * 20 / 100
                    WHEN taxable <= 5000000 THEN taxable * 30 / 100 - 200000
                    ELSE taxable * 40 / 100 - 700000 END FROM t
    ) END
"""


def income_tax_fen(gross_fen: int) -> int:
    """The same rule in Python, for statements approved one at a time and the centre."""
    if gross_fen <= 0:
        return 0
    taxable = max(gross_fen - 80_000, 0) if gross_fen <= 400_000 else gross_fen * 4 // 5
    if taxable <= 2_000_000:
        return taxable * 20 // 100
    if taxable <= 5_000_000:
        return taxable * 30 // 100 - 200_000
    return taxable * 40 // 100 - 700_000


def month_bounds(month: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime(month.year, month.month, 1, tzinfo=SHANGHAI)
    following = (start + dt.timedelta(days=32)).replace(day=1)
    return start, following


def current_month(now: dt.datetime | None = None) -> dt.date:
    """The first day of `now`'s month, Asia/Shanghai."""
    return (now or timezone.now()).astimezone(SHANGHAI).date().replace(day=1)


def previous_month(now: dt.datetime | None = None) -> dt.date:
    return (current_month(now) - dt.timedelta(days=1)).replace(day=1)


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def commissions_release(now: dt.datetime | None = None) -> int:
    """Frozen commissions whose order was received at least the hold days ago with no
    after-sales case open become available (one statement; history rows for each)."""
    now = now or timezone.now()
    rules = DistributionSettings.current()
    cutoff = now - dt.timedelta(days=rules.commission_hold_days)
    open_statuses = list(OPEN_AFTER_SALES)
    return bulk_move_commissions(
        from_status=CommissionStatus.FROZEN, to_status=CommissionStatus.AVAILABLE,
        where="""c.order_id IN (
                    SELECT o.id FROM orders_order o
                    WHERE o.received_at IS NOT NULL AND o.received_at <= %s
                      AND NOT EXISTS (SELECT 1 FROM orders_aftersalesrequest a
                                      WHERE a.order_id = o.id AND a.status = ANY(%s)))""",
        params=[cutoff, open_statuses], reason="after-sales window closed", now=now,
    )


def commissions_settle_due(now: dt.datetime | None = None) -> dict:
    """The frequent job: release what is due, pay the orders of a plan paying per order
    by profit sharing, and in a mall settling as commissions become available, settle
    the rest (and reversals of commissions already settled) at once into an interim
    statement of this month."""
    now = now or timezone.now()
    released = commissions_release(now=now)
    for order_id in profit_share_route.orders_to_share():
        profit_share_route.order_commissions_share(order_id)
    settled = 0
    if (DistributionSettings.current().settlement == SettlementMode.ON_AVAILABLE
            and (released or _reversals_after_payout_waiting())):
        settled = statements_generate(current_month(now), now=now, interim=True).statements
    return {"released": released, "statements": settled}


def _reversals_after_payout_waiting() -> bool:
    """A refund reversed commission that a statement had already settled, and no statement
    has netted the reversal yet: a mall settling as commissions become available nets it
    at once (the balance may go negative), not only with the next commission released."""
    waiting = CommissionReversal.objects.filter(statement__isnull=True)
    return waiting.filter(
        Q(commission__statement__isnull=False)
        | Q(commission__shared_fen__gt=0, created_at__gt=F("commission__settled_at"))
    ).exists()


@dataclass(frozen=True)
class SettlementRun:
    month: dt.date
    statements: int
    entries: int
    in_review: int
    batches: int


def statements_generate(month: dt.date, *, now: dt.datetime | None = None,
                        batch: int = BATCH_DISTRIBUTORS, interim: bool = False
                        ) -> SettlementRun:
    """Make `month`'s statements (month: its first day, Asia/Shanghai). Takes every entry
    not yet settled whose commission was earned before the month ended and is past its
    hold, including earlier months' late ones and reversals after payout. `interim`: the
    month is still running (a mall settling as commissions become available); the
    entries earned until now are settled into a further statement of the month."""
    now = now or timezone.now()
    if month.day != 1:
        raise DistributionInvalid("Give the first day of the month.",
                                  fields={"month": ["Give the first day of the month."]})
    month_start_at, month_end = month_bounds(month)
    if interim:
        if not month_start_at <= now < month_end:
            raise DistributionInvalid("An interim statement is for the current month.",
                                      fields={"month": ["Not the current month."]})
        month_end = now
    elif now < month_end:
        raise DistributionInvalid("That month has not ended yet.",
                                  fields={"month": ["That month has not ended yet."]})
    rules = DistributionSettings.current()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT min(id), max(id) FROM {_table(Distributor)}")
        low, high = cursor.fetchone()
    totals = {"statements": 0, "entries": 0, "in_review": 0, "batches": 0}
    if low is None:
        return SettlementRun(month=month, **totals)
    for start in range(low, high + 1, batch):
        made = _settle_batch(month=month, month_end=month_end, now=now, rules=rules,
                             low=start, high=start + batch - 1)
        for key, value in made.items():
            totals[key] += value
        totals["batches"] += 1
    return SettlementRun(month=month, **totals)


# The settled move below is COMMISSION_MACHINE's, done set-based.
assert COMMISSION_MACHINE.can_move(CommissionStatus.AVAILABLE, CommissionStatus.SETTLED)


def _settle_batch(*, month, month_end, now, rules, low, high) -> dict:
    params = {
        "month": month, "month_end": month_end, "now": now, "low": low, "high": high,
        "withhold": rules.withhold_income_tax,
        "review_from": rules.statement_review_from_fen,
        "heavy_pct": HEAVY_REFUND_SHARE_PCT,
        "settleable": [CommissionStatus.AVAILABLE, CommissionStatus.SETTLED,
                       CommissionStatus.REVERSED],
        "reason": f"in the statement of {month:%Y-%m}",
    }
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL work_mem = '64MB'")
        cursor.execute("DROP TABLE IF EXISTS settle_items")
        # What the batch settles: commissions past their hold not yet in a statement (a
        # fully reversed one too: it nets with its reversals) and reversals of commissions
        # past their hold (settled ones included: a refund after payout). A commission paid
        # by profit sharing is not taken, nor the reversals made before its share (the
        # share paid only what they left); a reversal after the share is.
        cursor.execute("""
            CREATE TEMP TABLE settle_items ON COMMIT DROP AS
            SELECT 'c'::text AS kind, c.id, c.distributor_id, c.status,
                   c.amount_fen::bigint AS amount
            FROM distribution_commission c
            WHERE c.statement_id IS NULL AND c.distributor_id BETWEEN %(low)s AND %(high)s
              AND c.status IN ('available', 'reversed') AND c.shared_fen = 0
              AND c.earned_at < %(month_end)s AND c.created_at < %(now)s
            UNION ALL
            SELECT 'r', r.id, r.distributor_id, c.status, -r.amount_fen::bigint
            FROM distribution_commissionreversal r
            JOIN distribution_commission c ON c.id = r.commission_id
            WHERE r.statement_id IS NULL AND r.distributor_id BETWEEN %(low)s AND %(high)s
              AND c.status = ANY(%(settleable)s)
              AND (c.shared_fen = 0 OR r.created_at > c.settled_at)
              AND c.earned_at < %(month_end)s AND r.created_at < %(now)s
        """, params)
        cursor.execute("ANALYZE settle_items")  # a temp table has no statistics
        cursor.execute("DROP TABLE IF EXISTS settle_made")
        cursor.execute("CREATE TEMP TABLE settle_made (id bigint PRIMARY KEY, "
                       "distributor_id bigint NOT NULL) ON COMMIT DROP")
        cursor.execute(f"""
            WITH sums AS (
                SELECT distributor_id, sum(amount)::bigint AS g, count(*) AS n,
                       coalesce(sum(amount) FILTER (WHERE kind = 'c'), 0) AS earned,
                       coalesce(-sum(amount) FILTER (WHERE kind = 'r'), 0) AS back
                FROM settle_items GROUP BY distributor_id
            ), earlier AS (
                SELECT distributor_id, max(sequence) AS seq, sum(gross_fen) AS gross,
                       sum(tax_fen) AS tax
                FROM distribution_statement
                WHERE month = %(month)s AND distributor_id BETWEEN %(low)s AND %(high)s
                GROUP BY distributor_id
            ), month_so_far AS (
                SELECT s.*, s.g + coalesce(e.gross, 0) AS month_gross,
                       coalesce(e.tax, 0) AS tax_before, coalesce(e.seq, 0) + 1 AS seq
                FROM sums s LEFT JOIN earlier e USING (distributor_id)
            ), priced AS (
                SELECT s.*, ({TAX_SQL})::bigint - s.tax_before AS tax,
                       array_remove(ARRAY[
                         CASE WHEN s.g >= %(review_from)s
                              THEN 'amount ≥ ' || %(review_from)s || ' fen' END,
                         CASE WHEN d.status <> 'active'
                              THEN 'distributor is ' || d.status END,
                         CASE WHEN s.earned > 0 AND s.back * 100 > s.earned * %(heavy_pct)s
                              THEN 'refunds reversed over ' || %(heavy_pct)s
                                   || '%% of the earnings' END
                       ], NULL) AS reasons
                FROM month_so_far s JOIN distribution_distributor d ON d.id = s.distributor_id
            ), made AS (
                INSERT INTO distribution_statement
                    (distributor_id, month, sequence, gross_fen, tax_fen, net_fen,
                     entry_count, status, review_reasons, hold_reason, created_at,
                     approved_at)
                SELECT distributor_id, %(month)s, seq, g, tax, g - tax, n,
                       CASE WHEN cardinality(reasons) > 0 THEN 'in_review'
                            ELSE 'approved' END,
                       to_jsonb(reasons), '', %(now)s,
                       CASE WHEN cardinality(reasons) > 0 THEN NULL ELSE %(now)s END
                FROM priced
                ON CONFLICT (distributor_id, month, sequence) DO NOTHING
                RETURNING id, distributor_id
            )
            INSERT INTO settle_made SELECT id, distributor_id FROM made
        """, params)
        # Only the statements this batch made (a concurrent run that made the same
        # sequence first wins; this one then links nothing).
        made = cursor.rowcount
        cursor.execute("ANALYZE settle_made")
        # One UPDATE per commission: linked to its statement and, when available, moved
        # to settled (the set-based COMMISSION_MACHINE move, history rows below).
        cursor.execute("""
            UPDATE distribution_commission c
            SET statement_id = m.id,
                status = CASE WHEN i.status = 'available' THEN 'settled' ELSE c.status END,
                settled_at = CASE WHEN i.status = 'available' THEN %(now)s
                                  ELSE c.settled_at END
            FROM settle_items i JOIN settle_made m USING (distributor_id)
            WHERE i.kind = 'c' AND c.id = i.id
        """, params)
        linked = cursor.rowcount
        cursor.execute("""
            INSERT INTO distribution_commissionevent
                (commission_id, from_status, to_status, actor_kind, actor_id, reason,
                 reference, created_at)
            SELECT i.id, 'available', 'settled', 'system', NULL, %(reason)s, '', %(now)s
            FROM settle_items i JOIN settle_made m USING (distributor_id)
            WHERE i.kind = 'c' AND i.status = 'available'
        """, params)
        cursor.execute("""
            UPDATE distribution_commissionreversal r SET statement_id = m.id
            FROM settle_items i JOIN settle_made m USING (distributor_id)
            WHERE i.kind = 'r' AND r.id = i.id
        """, params)
        linked += cursor.rowcount
        cursor.execute("""
            INSERT INTO distribution_statementevent
                (statement_id, from_status, to_status, actor_kind, actor_id, reason,
                 reference, created_at)
            SELECT s.id, '', s.status, 'system', NULL,
                   CASE WHEN s.status = 'in_review'
                        THEN 'waits for review: ' || array_to_string(ARRAY(
                             SELECT jsonb_array_elements_text(s.review_reasons)), '; ')
                        ELSE 'monthly statement' END,
                   '', %(now)s
            FROM distribution_statement s JOIN settle_made m USING (id)
        """, params)
        cursor.execute("""
            SELECT count(*) FILTER (WHERE status = 'in_review') FROM distribution_statement
            JOIN settle_made USING (id)
        """, params)
        in_review = cursor.fetchone()[0]
        _post_approved(cursor, params)
        cursor.execute("DROP TABLE settle_items, settle_made")
    return {"statements": made, "entries": linked, "in_review": in_review}


def _post_approved(cursor, params) -> None:
    """The ledger entries of the batch's approved statements, set-based: accounts first
    (created on first use), then the entries, then all their legs in one INSERT (the
    ledger's trigger checks each entry balances)."""
    scope = ("s.id IN (SELECT id FROM settle_made) AND s.status = 'approved' "
             "AND s.gross_fen <> 0")
    cursor.execute(f"""
        INSERT INTO ledger_account (code, party)
        SELECT code, 'dist:' || s.distributor_id FROM distribution_statement s,
               unnest(ARRAY['{A.DISTRIBUTOR_PAYABLE}', '{A.DISTRIBUTOR_WITHDRAWABLE}']) code
        WHERE {scope}
        UNION ALL SELECT '{A.TAX_WITHHELD}', ''
        ON CONFLICT (code, party) DO NOTHING
    """, params)
    # The entries and all their legs in one statement, joined by primary keys only (the
    # fresh rows have no statistics yet, and a join on source_key = id::text would make
    # the planner loop over them).
    cursor.execute(f"""
        WITH entries AS (
            INSERT INTO ledger_journalentry (source, source_key, order_id, memo, posted_at)
            SELECT 'statement', s.id::text, NULL,
                   'statement ' || to_char(s.month, 'YYYY-MM') || '/' || s.sequence
                   || ' of distributor ' || s.distributor_id, %(now)s
            FROM distribution_statement s WHERE {scope}
            RETURNING id, source_key
        )
        INSERT INTO ledger_journalleg (entry_id, account_id, amount_fen)
        SELECT e.id, (SELECT a.id FROM ledger_account a
                      WHERE a.code = leg.code AND a.party = leg.party), leg.amount
        FROM entries e
        JOIN distribution_statement s ON s.id = e.source_key::bigint
        CROSS JOIN LATERAL (VALUES
            ('{A.DISTRIBUTOR_PAYABLE}', 'dist:' || s.distributor_id, s.gross_fen),
            ('{A.DISTRIBUTOR_WITHDRAWABLE}', 'dist:' || s.distributor_id, -s.net_fen),
            ('{A.TAX_WITHHELD}', '', -s.tax_fen)
        ) AS leg(code, party, amount)
        WHERE leg.amount <> 0
    """, params)


def statement_legs(statement: Statement) -> list[Leg]:
    legs = [Leg(A.DISTRIBUTOR_PAYABLE, statement.gross_fen, party(statement.distributor_id)),
            Leg(A.DISTRIBUTOR_WITHDRAWABLE, -statement.net_fen,
                party(statement.distributor_id))]
    if statement.tax_fen:
        legs.append(Leg(A.TAX_WITHHELD, -statement.tax_fen))
    return [leg for leg in legs if leg.amount_fen]


def statement_approve(*, statement_id: int, staff_id: int) -> Statement:
    """Finance approves a statement under review (or held): its amount becomes
    withdrawable, in the same transaction."""
    with transaction.atomic():
        statement = Statement.objects.select_for_update().filter(pk=statement_id).first()
        if statement is None:
            raise DistributionNotFound("No such statement.")
        statement = STATEMENT_MACHINE.transition(
            pk=statement.pk, to_status=StatementStatus.APPROVED, actor=Actor.staff(staff_id),
            reason="approved by finance",
        )
        if statement.gross_fen:
            entry_post(source="statement", source_key=str(statement.pk),
                       legs=statement_legs(statement),
                       memo=f"statement {statement.month:%Y-%m}/{statement.sequence} of "
                            f"distributor {statement.distributor_id}")
    return statement


def statement_hold(*, statement_id: int, staff_id: int, reason: str) -> Statement:
    reason = (reason or "").strip()
    if not reason:
        raise DistributionInvalid(fields={"reason": ["Say why the statement is held."]})
    if not Statement.objects.filter(pk=statement_id).exists():
        raise DistributionNotFound("No such statement.")
    return STATEMENT_MACHINE.transition(
        pk=statement_id, to_status=StatementStatus.HELD, actor=Actor.staff(staff_id),
        reason=reason, changes={"hold_reason": reason[:200]},
    )
