"""The real client libraries pointed at the simulator, configured from the files in its
state directory, exactly as the platform configures them against WeChat (only the base
URLs differ). Used by the simulator's tests; the README shows the same steps inline."""

from __future__ import annotations

import json
from pathlib import Path

from wechatpayv3 import WeChatPay, WeChatPayType
from wechatpy import WeChatClient
from wechatpy.oauth import WeChatOAuth

from .keys import (
    APIV3_KEY_FILE,
    CREDENTIALS_FILE,
    SP_CERT_SERIAL_FILE,
    SP_PRIVATE_KEY_FILE,
    WECHATPAY_PUBLIC_KEY_FILE,
    WECHATPAY_PUBLIC_KEY_ID_FILE,
)


def wechatpay_client(
    state_dir: str | Path,
    base_url: str,
    *,
    appid: str | None = None,
    notify_url: str | None = None,
    wechatpay_type: WeChatPayType = WeChatPayType.JSAPI,
) -> WeChatPay:
    """wechatpayv3 in partner mode and public-key mode (no platform certificates to
    download), with its gateway (`_core._gate_way`) set to the simulator."""
    state_dir = Path(state_dir)
    credentials = json.loads((state_dir / CREDENTIALS_FILE).read_text())
    client = WeChatPay(
        wechatpay_type=wechatpay_type,
        mchid=credentials["sp_mchid"],
        private_key=(state_dir / SP_PRIVATE_KEY_FILE).read_text(),
        cert_serial_no=(state_dir / SP_CERT_SERIAL_FILE).read_text().strip(),
        appid=appid or credentials["sp_appid"],
        apiv3_key=(state_dir / APIV3_KEY_FILE).read_text().strip(),
        notify_url=notify_url,
        cert_dir=None,
        partner_mode=True,
        timeout=(5, 15),
        public_key=(state_dir / WECHATPAY_PUBLIC_KEY_FILE).read_text(),
        public_key_id=(state_dir / WECHATPAY_PUBLIC_KEY_ID_FILE).read_text().strip(),
    )
    client._core._gate_way = base_url.rstrip("/")
    return client


def wechat_oauth(
    base_url: str,
    appid: str,
    secret: str,
    redirect_uri: str,
    scope: str = "snsapi_base",
    state: str = "",
) -> WeChatOAuth:
    """wechatpy's web OAuth with its two base URLs set to the simulator."""
    oauth = WeChatOAuth(appid, secret, redirect_uri, scope=scope, state=state)
    oauth.API_BASE_URL = f"{base_url.rstrip('/')}/"
    oauth.OAUTH_BASE_URL = f"{base_url.rstrip('/')}/connect/"
    return oauth


class SimulatorWeChatClient(WeChatClient):
    """wechatpy's official-account / mini-program client against the simulator. wechatpy
    hard-codes the token URL, and its mini-program API object has a base URL of its own,
    so both are redirected here too."""

    def __init__(self, base_url: str, appid: str, secret: str, **kwargs):
        super().__init__(appid, secret, **kwargs)
        self.base_url = base_url.rstrip("/")
        self.API_BASE_URL = f"{self.base_url}/cgi-bin/"
        self.wxa.API_BASE_URL = f"{self.base_url}/"

    def fetch_access_token(self) -> dict:
        return self._fetch_access_token(
            url=f"{self.base_url}/cgi-bin/token",
            params={"grant_type": "client_credential", "appid": self.appid, "secret": self.secret},
        )
