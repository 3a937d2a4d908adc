from celery import shared_task

from storefront.notifications.wechat import order_event_message_send


@shared_task(ignore_result=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=3)
def notify_order_event(order_id: int, event: str) -> str | None:
    return order_event_message_send(order_id=order_id, event=event)
