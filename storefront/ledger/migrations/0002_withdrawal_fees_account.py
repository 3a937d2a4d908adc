"""A new account, withdrawal fees, for the distribution engine's withdrawals.

The check constraint naming the known account codes is replaced. In the database it is
found by its definition rather than its name: a mall cloned from the template may carry
the constraint under another name (django-tenants' clone_schema)."""

from django.db import migrations, models


CODES = (
    "wechat_clearing", "sales_revenue", "refunds", "wechat_fees", "unapplied_receipts",
    "commission_expense", "distributor_payable", "partner_payable",
    "distributor_withdrawable", "tax_withheld", "withdrawal_fees",
)
REPLACE_CHECK = """
DO $$
DECLARE name text;
BEGIN
    FOR name IN
        SELECT con.conname FROM pg_constraint con
        JOIN pg_class rel ON rel.oid = con.conrelid
        JOIN pg_namespace ns ON ns.oid = rel.relnamespace
        WHERE ns.nspname = current_schema() AND rel.relname = 'ledger_account'
          AND con.contype = 'c' AND pg_get_constraintdef(con.oid) LIKE '%%wechat_clearing%%'
    LOOP
        EXECUTE format('ALTER TABLE ledger_account DROP CONSTRAINT %%I', name);
    END LOOP;
END $$;
ALTER TABLE ledger_account ADD CONSTRAINT ledger_account_known_code
    CHECK (code IN (%s));
""" % ", ".join(f"'{code}'" for code in CODES)


class Migration(migrations.Migration):

    dependencies = [
        ('ledger', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveConstraint(
                    model_name='account',
                    name='ledger_account_known_code',
                ),
                migrations.AlterField(
                    model_name='account',
                    name='code',
                    field=models.CharField(choices=[('wechat_clearing', "WeChat Pay clearing (the sub-merchant's funds)"), ('sales_revenue', 'Sales revenue'), ('refunds', 'Refunds (contra-revenue)'), ('wechat_fees', 'WeChat Pay fees'), ('unapplied_receipts', 'Unapplied receipts (owed back to the payer)'), ('commission_expense', 'Commission expense'), ('distributor_payable', 'Commission payable to a distributor'), ('partner_payable', 'Payable to a profit-sharing receiver'), ('distributor_withdrawable', "A distributor's withdrawable balance"), ('tax_withheld', 'Tax withheld'), ('withdrawal_fees', 'Withdrawal fees charged to distributors')], max_length=32),
                ),
                migrations.AddConstraint(
                    model_name='account',
                    constraint=models.CheckConstraint(condition=models.Q(('code__in', ['wechat_clearing', 'sales_revenue', 'refunds', 'wechat_fees', 'unapplied_receipts', 'commission_expense', 'distributor_payable', 'partner_payable', 'distributor_withdrawable', 'tax_withheld', 'withdrawal_fees'])), name='ledger_account_known_code'),
                ),
            ],
            database_operations=[migrations.RunSQL(REPLACE_CHECK, migrations.RunSQL.noop)],
        ),
    ]
