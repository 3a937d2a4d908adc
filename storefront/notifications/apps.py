from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "storefront.notifications"
    label = "notifications"

    def ready(self):
        from core import events

        # The shopper's template message, queued after the commit through the outbox.
        for name, message in (
            ("order.paid", "paid"),
            ("order.shipped", "shipped"),
        ):
            events.task_subscriber(
                name, "storefront.notifications.tasks.notify_order_event",
                kwargs=lambda event, message=message: {
                    "order_id": event.data["id"], "event": message,
                },
            )
        events.task_subscriber(
            "after_sales.refunded", "storefront.notifications.tasks.notify_order_event",
            kwargs=lambda event: {"order_id": event.data["order_id"], "event": "refunded"},
        )
        # A staff reply to a ticket also reaches the shopper's WeChat (客服消息).
        events.task_subscriber(
            "ticket.staff_replied", "storefront.notifications.tasks.send_ticket_reply",
            kwargs=lambda event: {"message_id": event.data["message_id"]},
        )
