import requests
from celery import shared_task
from wechatpy.exceptions import WeChatClientException

from storefront.notifications.wechat import order_event_message_send, ticket_reply_message_send


@shared_task(ignore_result=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=3)
def notify_order_event(order_id: int, event: str) -> str | None:
    return order_event_message_send(order_id=order_id, event=event)


@shared_task(
    ignore_result=True, autoretry_for=(OSError, requests.RequestException, WeChatClientException),
    retry_backoff=True, retry_backoff_max=600, max_retries=6,
)
def send_ticket_reply(message_id: int) -> str | None:
    """A staff reply as a WeChat customer-service message; retried while WeChat is
    unreachable or busy (a refusal is recorded on the message, not retried)."""
    return ticket_reply_message_send(message_id=message_id)
