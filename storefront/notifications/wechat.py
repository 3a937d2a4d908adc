"""Template messages through wechatpy, from the app the shopper signed in with.

The access token is cached in Redis (WeChat caps token requests per day), shared by every
process. Template ids are per platform (settings); an event without a template id is
skipped with a log line, never an error: an order must not fail because a message can't go.
"""

from __future__ import annotations

import logging

import redis
from django.conf import settings
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException
from wechatpy.session.redisstorage import RedisStorage

from storefront.orders.models import Order
from storefront.payments.models import Refund
from storefront.support.models import TicketMessage, WeChatDelivery
from storefront.support.services import ticket_message_delivery_set
from tenants.selectors import merchant_current

logger = logging.getLogger(__name__)

EVENTS = ("paid", "shipped", "refunded")


class ConfiguredWeChatClient(WeChatClient):
    """wechatpy's client with its API host from settings (WeChat in production, the local
    simulator in development). wechatpy hard-codes the token URL, so that moves too."""

    def __init__(self, appid: str, secret: str, **kwargs):
        super().__init__(appid, secret, **kwargs)
        self.api_host = settings.WECHAT_API_BASE_URL.rstrip("/")
        self.API_BASE_URL = f"{self.api_host}/cgi-bin/"

    def fetch_access_token(self) -> dict:
        return self._fetch_access_token(
            url=f"{self.api_host}/cgi-bin/token",
            params={"grant_type": "client_credential", "appid": self.appid, "secret": self.secret},
        )


def _client() -> WeChatClient:
    storage = RedisStorage(redis.Redis.from_url(settings.REDIS_URL), prefix="wechatpy")
    return ConfiguredWeChatClient(
        settings.WECHAT_OAUTH_APP_ID, settings.WECHAT_OAUTH_APP_SECRET, session=storage,
        timeout=settings.WECHAT_HTTP_TIMEOUT,
    )


def _yuan(fen: int) -> str:
    return f"¥{fen // 100}.{fen % 100:02d}"


def _message_data(order: Order, event: str) -> dict:
    first = order.lines.first()
    goods = first.title if first else order.number
    if event == "paid":
        return {"first": {"value": "订单支付成功"}, "keyword1": {"value": order.number},
                "keyword2": {"value": goods}, "keyword3": {"value": _yuan(order.total_fen)}}
    if event == "shipped":
        return {"first": {"value": "您的订单已发货"}, "keyword1": {"value": order.number},
                "keyword2": {"value": order.carrier}, "keyword3": {"value": order.tracking_number}}
    refunded = sum(
        r.amount_fen for r in Refund.objects.filter(payment__order=order, status="succeeded")
    )
    return {"first": {"value": "退款已完成"}, "keyword1": {"value": order.number},
            "keyword2": {"value": _yuan(refunded)}}


def order_event_message_send(*, order_id: int, event: str) -> str | None:
    """Send the template message for `event`; returns WeChat's msgid, or None if skipped."""
    if event not in EVENTS:
        raise ValueError(f"unknown order event {event!r}")
    template_id = settings.WECHAT_TEMPLATE_IDS.get(event)
    order = Order.objects.select_related("shopper").get(pk=order_id)
    openid = order.shopper.wechat_openid
    if not (template_id and openid and settings.WECHAT_OAUTH_APP_ID):
        logger.info("no %s message for order %s (template, openid or app missing)",
                    event, order.number)
        return None
    try:
        result = _client().message.send_template(
            openid, template_id, _message_data(order, event),
            url=f"{settings.PLATFORM_SCHEME}://{order_host()}/orders/{order.number}/",
        )
    except WeChatClientException as exc:
        logger.warning("%s message for order %s refused: %s", event, order.number, exc)
        return None
    return str(result.get("msgid"))


def order_host() -> str:
    return merchant_current().primary_host


# Customer-service messages (客服消息) -------------------------------------------------------

# WeChat caps a text message's content (2048 bytes); a long reply is cut, and the link
# leads to the whole conversation.
CUSTOM_TEXT_MAX_CHARS = 400


def ticket_reply_message_send(*, message_id: int) -> str | None:
    """Send a staff reply to the shopper's WeChat as a customer-service text message.

    Returns WeChat's msgid, or None when nothing went out (no openid or no official account:
    skipped; WeChat refused it: failed, e.g. the shopper has not written to the account in
    48 hours). Safe to run twice: a reply already settled is not sent again."""
    message = (
        TicketMessage.objects.select_related("ticket__shopper").filter(pk=message_id).first()
    )
    if message is None or message.wechat_delivery != WeChatDelivery.PENDING:
        return None
    ticket = message.ticket
    openid = ticket.shopper.wechat_openid
    if not (openid and settings.WECHAT_OAUTH_APP_ID):
        ticket_message_delivery_set(message_id=message.pk, delivery=WeChatDelivery.SKIPPED)
        logger.info("no WeChat message for ticket %s (no openid or app)", ticket.number)
        return None
    merchant = merchant_current()
    body = message.body
    if len(body) > CUSTOM_TEXT_MAX_CHARS:
        body = body[:CUSTOM_TEXT_MAX_CHARS] + "…"
    url = f"{settings.PLATFORM_SCHEME}://{merchant.primary_host}/help/tickets/{ticket.number}/"
    content = f"【{merchant.name} 客服】{body}\n\n查看对话：{url}"
    try:
        result = _client().message.send_text(openid, content)
    except WeChatClientException as exc:
        if exc.errcode == -1:  # "system busy": worth another try
            raise
        ticket_message_delivery_set(message_id=message.pk, delivery=WeChatDelivery.FAILED)
        logger.warning("reply on ticket %s refused by WeChat: %s", ticket.number, exc)
        return None
    msgid = str(result.get("msgid") or "")
    ticket_message_delivery_set(message_id=message.pk, delivery=WeChatDelivery.SENT, msgid=msgid)
    return msgid
