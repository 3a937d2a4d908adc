"""WeChat JS-SDK configuration (wx.config) for a page opened inside WeChat.

A page that calls a JS-SDK interface (the distributor centre's "confirm receipt", which
hands a transfer's package to WeChat's requestMerchantTransfer) must first sign its own URL
with the official account's jsapi_ticket. The ticket comes through the same wechatpy client
as template messages, cached in Redis by wechatpy's session store (WeChat caps ticket
requests per day), and the signature is wechatpy's. Without an official account configured,
or when WeChat cannot be reached, there is no configuration and the page falls back to
WeixinJSBridge alone.
"""

from __future__ import annotations

import logging
import secrets
import time

import requests
from django.conf import settings
from wechatpy.exceptions import WeChatClientException

from storefront.notifications.wechat import _client

logger = logging.getLogger(__name__)


def jssdk_config(*, url: str, api_list: tuple[str, ...]) -> dict | None:
    """The wx.config object for the page at `url` (without its #fragment), or None."""
    if not (settings.WECHAT_OAUTH_APP_ID and settings.WECHAT_OAUTH_APP_SECRET):
        return None
    client = _client()
    url = url.split("#", 1)[0]
    try:
        ticket = client.jsapi.get_jsapi_ticket()
    except (WeChatClientException, requests.RequestException) as exc:
        logger.warning("no JS-SDK ticket: %s", exc)
        return None
    nonce, timestamp = secrets.token_hex(8), int(time.time())
    return {
        "appId": settings.WECHAT_OAUTH_APP_ID,
        "timestamp": timestamp,
        "nonceStr": nonce,
        "signature": client.jsapi.get_jsapi_signature(nonce, ticket, timestamp, url),
        "jsApiList": list(api_list),
    }
