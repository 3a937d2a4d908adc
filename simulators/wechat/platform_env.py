"""The environment the platform needs to talk to this simulator instead of WeChat: the
same variables production sets for the real services (README § Configuration)."""

from __future__ import annotations

import json
from pathlib import Path

from .keys import (
    APIV3_KEY_FILE,
    CREDENTIALS_FILE,
    SP_CERT_SERIAL_FILE,
    SP_PRIVATE_KEY_FILE,
    WECHATPAY_PUBLIC_KEY_FILE,
    WECHATPAY_PUBLIC_KEY_ID_FILE,
)

# The simulator accepts any template id; these name the platform's three order messages.
TEMPLATE_IDS = {
    "WECHAT_TEMPLATE_ORDER_PAID": "SIM_TPL_ORDER_PAID",
    "WECHAT_TEMPLATE_ORDER_SHIPPED": "SIM_TPL_ORDER_SHIPPED",
    "WECHAT_TEMPLATE_REFUND_DONE": "SIM_TPL_REFUND_DONE",
}


def platform_environment(state_dir: str | Path, base_url: str) -> dict[str, str]:
    state_dir = Path(state_dir).resolve()
    credentials = json.loads((state_dir / CREDENTIALS_FILE).read_text())
    return {
        "WECHATPAY_GATEWAY": base_url,
        "WECHATPAY_SP_MCHID": credentials["sp_mchid"],
        "WECHATPAY_SP_APPID": credentials["sp_appid"],
        "WECHATPAY_CERT_SERIAL_NO": (state_dir / SP_CERT_SERIAL_FILE).read_text().strip(),
        "WECHATPAY_PRIVATE_KEY_FILE": str(state_dir / SP_PRIVATE_KEY_FILE),
        "WECHATPAY_APIV3_KEY_FILE": str(state_dir / APIV3_KEY_FILE),
        "WECHATPAY_PUBLIC_KEY_FILE": str(state_dir / WECHATPAY_PUBLIC_KEY_FILE),
        "WECHATPAY_PUBLIC_KEY_ID": (state_dir / WECHATPAY_PUBLIC_KEY_ID_FILE).read_text().strip(),
        "WECHAT_OPEN_BASE_URL": base_url,
        "WECHAT_API_BASE_URL": base_url,
        "WECHAT_OAUTH_APP_ID": credentials["sp_appid"],
        "WECHAT_OAUTH_APP_SECRET": credentials["sp_app_secret"],
        **TEMPLATE_IDS,
    }


def sub_merchants(state_dir: str | Path) -> list[dict]:
    return json.loads((Path(state_dir) / CREDENTIALS_FILE).read_text())["sub_merchants"]
