from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "storefront.payments"
    label = "payments"

    def ready(self):
        from core import events
        from storefront.payments import ledger_postings, subscribers  # noqa: F401

        # Its in-transaction subscribers post every final money move to the ledger; the
        # ledger check learns what to expect from the rows.
        ledger_postings.register()

        # Staff approved a refund: ask WeChat once the approval is committed.
        events.task_subscriber(
            "after_sales.approved", "storefront.payments.tasks.start_refund",
            kwargs=lambda event: {"after_sales_id": event.data["id"]},
        )
