from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "storefront.payments"
    label = "payments"

    def ready(self):
        from core import events

        # Staff approved a refund: ask WeChat once the approval is committed.
        events.task_subscriber(
            "after_sales.approved", "storefront.payments.tasks.start_refund",
            kwargs=lambda event: {"after_sales_id": event.data["id"]},
        )
